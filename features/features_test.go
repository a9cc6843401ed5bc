// Package features runs the Gherkin specification of custodes with godog
// under go test: every scenario drives a real in-process cluster of agents
// over HTTP (agent/agenttest). Run one feature or tag with
//
//	go test ./features -godog.paths=registry.feature -godog.tags=@fresh
package features

import (
	"flag"
	"os"
	"testing"

	"github.com/cucumber/godog"
	"github.com/cucumber/godog/colors"
)

var opts = godog.Options{
	Format: "progress",
	Paths:  []string{"."},
	Strict: true,
	Tags:   "~@wip",
	Output: colors.Colored(os.Stdout),
}

func init() {
	godog.BindCommandLineFlags("godog.", &opts)
}

func TestFeatures(t *testing.T) {
	flag.Parse()
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
