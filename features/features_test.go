// Package features runs the Gherkin specification of custodes with godog
// under go test: every scenario drives a real in-process cluster of agents
// over HTTP (agent/agenttest). Run one feature or tag with
//
//	go test ./features -v --godog.tags=@fresh
//	go test ./features -v --godog.format=pretty registry.feature
package features

import (
	"os"
	"testing"

	"github.com/cucumber/godog"
	"github.com/cucumber/godog/colors"
	"github.com/spf13/pflag"
)

var opts = godog.Options{
	Format: "progress",
	Paths:  []string{"."},
	Strict: true,
	Tags:   "~@wip",
	Output: colors.Uncolored(os.Stdout),
}

func init() {
	godog.BindCommandLineFlags("godog.", &opts)
}

func TestMain(m *testing.M) {
	pflag.Parse()
	if args := pflag.Args(); len(args) > 0 {
		opts.Paths = args
	}
	os.Exit(m.Run())
}

func TestFeatures(t *testing.T) {
	o := opts
	o.TestingT = t
	suite := godog.TestSuite{
		Name:                 "custodes",
		TestSuiteInitializer: initSuite,
		ScenarioInitializer:  initScenario,
		Options:              &o,
	}
	if suite.Run() != 0 {
		t.Fatal("feature scenarios failed")
	}
}
