package features

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/custodes/custodes/keyring"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/api"
)

// logBuffer collects every agent's log lines of one scenario, so a step
// can search them (agents log from many goroutines).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) contains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Contains(b.buf.Bytes(), []byte(s))
}

func (b *logBuffer) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// aclWorld is the ACL steps' part of a scenario: the captured logs of
// its cluster.
type aclWorld struct {
	w    *world
	logs *logBuffer
}

// aclCluster starts n agents with the given ACL mode (and, if asked, an
// initial management token remembered as ${initial}), logging at debug
// level into a buffer the scenario can search, and snapshotting often so
// that snapshots can be searched too.
func (a *aclWorld) aclCluster(n int, mode, initial string) error {
	w := a.w
	var tok string
	if initial != "" {
		var err error
		if tok, err = api.NewToken(); err != nil {
			return err
		}
		w.vars["initial"] = tok
	}
	a.logs = &logBuffer{}
	// ACLs need a cluster key (the agents' own protocol must be closed).
	key, err := keyring.Generate()
	if err != nil {
		return err
	}
	keys, err := keyring.Parse(key)
	if err != nil {
		return err
	}
	w.vars[keyVar] = key // so steps can sign with it
	c, err := agenttest.Start(n, agenttest.Options{
		Keys:      keys,
		LogOutput: a.logs,
		Configure: func(i int, cfg *agent.Config) {
			cfg.API.ACL = api.ACLConfig{Default: mode, InitialManagementToken: tok}
			cfg.Cluster.Logger = slog.New(slog.NewTextHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			cfg.Cluster.SnapshotThreshold = 1
			cfg.Cluster.SnapshotInterval = 100 * time.Millisecond
		},
	})
	if err != nil {
		return err
	}
	if w.fresh {
		w.c.Shutdown()
	}
	w.c, w.fresh = c, true
	return nil
}

// as sends a request with the token remembered as name.
func (a *aclWorld) as(method, path, who, name string, body *godog.DocString) error {
	tok, ok := a.w.vars[name]
	if !ok {
		return fmt.Errorf("no token remembered as %q", name)
	}
	if err := a.w.nextHeaderIs("Authorization: Bearer " + tok); err != nil {
		return err
	}
	return a.w.request(method, path, who, body)
}

// remember keeps a field of the last response as ${name}.
func (a *aclWorld) remember(path, name string) error {
	v, err := a.w.field(path)
	if err != nil {
		return err
	}
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case float64: // a JSON number: fences, indexes
		s = fmt.Sprint(v)
	}
	if s == "" {
		return fmt.Errorf("%s is %v, not a non-empty string or a number", path, v)
	}
	a.w.vars[name] = s
	return nil
}

// bootstrappedEverywhere waits until every agent's replica holds the
// bootstrap (the initial token's leader task runs on its own).
func (a *aclWorld) bootstrappedEverywhere() error {
	return poll(10*time.Second, func() error {
		for i, ag := range a.w.c.Agents {
			if ag != nil && !ag.Node().FSM().ACLBootstrapped() {
				return fmt.Errorf("agent %d is not bootstrapped", i+1)
			}
		}
		return nil
	})
}

// snapshotted waits until every agent has a snapshot of its state as it
// is now, so that the search below covers snapshots too.
func (a *aclWorld) snapshotted() error {
	return poll(10*time.Second, func() error {
		for i, ag := range a.w.c.Agents {
			if ag == nil {
				continue
			}
			want := ag.Node().FSM().AppliedIndex()
			metas, _ := filepath.Glob(filepath.Join(ag.Config().Cluster.DataDir, "snapshots", "*", "meta.json"))
			ok := false
			for _, m := range metas {
				var meta struct{ Index uint64 }
				if b, err := os.ReadFile(m); err == nil && json.Unmarshal(b, &meta) == nil && meta.Index >= want {
					ok = true
				}
			}
			if !ok {
				return fmt.Errorf("agent %d has no snapshot at index %d yet", i+1, want)
			}
		}
		return nil
	})
}

// tokensNowhere searches every file under every agent's data directory
// (Raft log, stable store, snapshots) and everything the agents logged
// for each remembered token.
func (a *aclWorld) tokensNowhere(list string) error {
	if a.logs == nil || a.logs.len() == 0 {
		return fmt.Errorf("no logs were captured: start the cluster with an ACL step")
	}
	var names []string
	for _, n := range strings.Split(list, ",") {
		names = append(names, strings.TrimSpace(n))
	}
	hashes := 0 // files holding a token's hash: proof the search reads the users
	for _, name := range names {
		tok, ok := a.w.vars[name]
		if !ok || len(tok) < 16 {
			return fmt.Errorf("no token remembered as %q", name)
		}
		if a.logs.contains(tok) {
			return fmt.Errorf("token %q is in the agents' logs", name)
		}
		searched := 0
		for i, ag := range a.w.c.Agents {
			if ag == nil {
				continue
			}
			dir := ag.Config().Cluster.DataDir
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				searched++
				if bytes.Contains(b, []byte(api.HashToken(tok))) {
					hashes++
				}
				if bytes.Contains(b, []byte(tok)) {
					return fmt.Errorf("token %q is in agent %d's %s", name, i+1, p)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		if searched == 0 {
			return fmt.Errorf("no files in the data directories")
		}
	}
	if hashes == 0 {
		return fmt.Errorf("no data file holds any of the tokens' hashes: the search missed the state")
	}
	return nil
}

func aclSteps(sc *godog.ScenarioContext, w *world) {
	a := &aclWorld{w: w}
	const method = `"(GET|POST|PUT|DELETE|PATCH)"`
	sc.Step(`^`+freshStep+`(\d+) agents with ACL default "(allow|deny)"( and an initial management token)?$`, a.aclCluster)
	sc.Step(`^I send `+method+` "([^"]*)" to `+who+` as "([^"]*)"$`,
		func(m, p, who, name string) error { return a.as(m, p, who, name, nil) })
	sc.Step(`^I send `+method+` "([^"]*)" to `+who+` as "([^"]*)" with body:$`, a.as)
	sc.Step(`^I remember the response "([^"]*)" as "([^"]*)"$`, a.remember)
	sc.Step(`^ACLs are bootstrapped on every agent$`, a.bootstrappedEverywhere)
	sc.Step(`^every agent has snapshotted its state$`, a.snapshotted)
	sc.Step(`^the tokens "([^"]*)" appear in no agent's data directory or logs$`, a.tokensNowhere)
}
