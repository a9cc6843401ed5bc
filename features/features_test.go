// Package features is the Gherkin specification of custodes, run by godog
// under go test: every scenario drives a real in-process cluster of agents
// (agent/agenttest) over HTTP. If it is not in a feature file, it does not
// exist.
//
// One 3-agent cluster serves the whole suite and its catalog is wiped
// through the API before each scenario; a scenario tagged @fresh gets a new
// cluster of its own, shut down afterwards (needed to kill or restart
// agents). Scenarios tagged @wip-bug document product bugs and are left out
// of the default run. Pick features, tags or a format with
//
//	go test ./features -v -godog.tags=@fresh
//	go test ./features -v -godog.format=pretty -godog.paths=registry.feature
//	go test ./features -v -args registry.feature:9
package features

import (
	"flag"
	"os"
	"testing"

	"github.com/cucumber/godog"
	"github.com/cucumber/godog/colors"
)

// opts are the suite's godog options; -godog.* flags override them.
var opts = godog.Options{
	Format: "progress",
	Paths:  []string{"."},
	Strict: true,
	Tags:   "~@wip-bug",
	Output: colors.Uncolored(os.Stdout),
}

func init() {
	godog.BindFlags("godog.", flag.CommandLine, &opts)
}

func TestMain(m *testing.M) {
	flag.Parse()
	if args := flag.Args(); len(args) > 0 {
		opts.Paths = args
	}
	os.Exit(m.Run())
}

func TestFeatures(t *testing.T) {
	o := opts
	o.TestingT = t
	s := &suite{}
	ts := godog.TestSuite{
		Name:                 "custodes",
		TestSuiteInitializer: s.init,
		ScenarioInitializer:  s.initScenario,
		Options:              &o,
	}
	if ts.Run() != 0 {
		t.Fatal("feature scenarios failed")
	}
}
