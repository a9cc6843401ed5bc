package features

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"
)

// Steps of metrics.feature that read a metric's value: a series is named
// as Prometheus prints it ("name" or `name{label="v"}`), and several
// series of one name are summed when no labels are given.

// metricValue scrapes agent i and returns the series' value and whether
// it is exported at all (a counter not yet incremented is not printed,
// and must not read as 0: "at least 0" would then hold for a metric that
// does not exist).
func (w *world) metricValue(i int, series string) (float64, bool, error) {
	r, err := w.send(i, http.MethodGet, "/metrics", nil)
	if err != nil {
		return 0, false, err
	}
	if r.status != http.StatusOK {
		return 0, false, fmt.Errorf("GET /metrics: %d %s", r.status, r.body)
	}
	sum, found := 0.0, false
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		bare, _, _ := strings.Cut(name, "{")
		if name != series && (strings.Contains(series, "{") || bare != series) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return 0, false, fmt.Errorf("%s: %v", line, err)
		}
		sum, found = sum+v, true
	}
	return sum, found, sc.Err()
}

// metricAtLeast waits until the series of who reaches min.
func (w *world) metricAtLeast(series, who string, min float64) error {
	return poll(10*time.Second, func() error {
		i, err := w.agent(who)
		if err != nil {
			return err
		}
		v, found, err := w.metricValue(i, series)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%s of %s is not exported", series, who)
		}
		if v < min {
			return fmt.Errorf("%s of %s is %v, want at least %v", series, who, v, min)
		}
		return nil
	})
}

// metricSumAtLeast waits until the series summed over every running agent
// reaches min.
func (w *world) metricSumAtLeast(series string, min float64) error {
	return poll(10*time.Second, func() error {
		sum, found := 0.0, false
		for i, a := range w.c.Agents {
			if a == nil {
				continue
			}
			v, ok, err := w.metricValue(i, series)
			if err != nil {
				return err
			}
			sum, found = sum+v, found || ok
		}
		if !found {
			return fmt.Errorf("no agent exports %s", series)
		}
		if sum < min {
			return fmt.Errorf("%s summed over the agents is %v, want at least %v", series, sum, min)
		}
		return nil
	})
}

func metricsSteps(sc *godog.ScenarioContext, w *world) {
	sc.Step(`^the metric "(.*)" of `+who+` is at least ([\d.]+)$`, w.metricAtLeast)
	sc.Step(`^the metric "(.*)" summed over the agents is at least ([\d.]+)$`, w.metricSumAtLeast)
}
