package features

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	"github.com/custodes/custodes/cli"
	"github.com/custodes/custodes/tlsutil"
)

// The CLI's steps (cli.feature): cli.Run in-process against the
// scenario's agents, as `custodes COMMAND ...` would run, with the agent's
// address and the user's token in its environment. The last command's
// exit code and output are what the Then steps check.

// cliResult is one command's outcome.
type cliResult struct {
	code           int
	stdout, stderr string
}

// cliWorld is one scenario's CLI state.
type cliWorld struct {
	w    *world
	last *cliResult
	// bg holds the commands started in the background, by name.
	bg     map[string]*cliBackground
	tmpDir string
}

// cliBackground is a command running in the background.
type cliBackground struct {
	stdout, stderr syncBuffer
	done           chan struct{}
	code           int
}

// syncBuffer is a buffer a command writes while a step reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// dir is the scenario's directory for local files, remembered as ${dir}.
func (c *cliWorld) dir() (string, error) {
	if c.tmpDir == "" {
		d, err := os.MkdirTemp("", "custodes-cli-")
		if err != nil {
			return "", err
		}
		c.tmpDir = d
		c.w.vars["dir"] = d
		c.w.cleanup = append(c.w.cleanup, func() { os.RemoveAll(d) })
	}
	return c.tmpDir, nil
}

// command prepares a command line: its arguments (split on spaces, after
// ${variables} are expanded) and its environment (the agent's address,
// the user's token).
func (c *cliWorld) command(line, user, who string) ([]string, map[string]string, error) {
	if _, err := c.dir(); err != nil {
		return nil, nil, err
	}
	line, err := c.w.expand(line)
	if err != nil {
		return nil, nil, err
	}
	args := strings.Fields(line)
	if len(args) == 0 || args[0] != "custodes" {
		return nil, nil, fmt.Errorf("the command %q does not start with custodes", line)
	}
	if who == "" {
		who = "agent 1"
	}
	i, err := c.w.agent(who)
	if err != nil {
		return nil, nil, err
	}
	env := map[string]string{cli.EnvHTTPAddr: c.w.c.URL(i)}
	if user != "" {
		tok, ok := c.w.vars[user]
		if !ok {
			return nil, nil, fmt.Errorf("no token remembered as %q", user)
		}
		env[cli.EnvToken] = tok
	}
	return args[1:], env, nil
}

// run runs a command to its end (at most a minute).
func (c *cliWorld) run(line, user, who, input string) error {
	args, env, err := c.command(line, user, who)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.w.ctx, time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := cli.Run(ctx, args, env, strings.NewReader(input), &out, &errb)
	c.last = &cliResult{code: code, stdout: out.String(), stderr: errb.String()}
	return nil
}

func (c *cliWorld) start(line, user, name string) error {
	args, env, err := c.command(line, user, "")
	if err != nil {
		return err
	}
	b := &cliBackground{done: make(chan struct{})}
	c.bg[name] = b
	go func() {
		defer close(b.done)
		// The scenario's context ends it if the scenario ends first.
		b.code = cli.Run(c.w.ctx, args, env, strings.NewReader(""), &b.stdout, &b.stderr)
	}()
	c.w.cleanup = append(c.w.cleanup, func() { <-b.done })
	return nil
}

func (c *cliWorld) background(name string) (*cliBackground, error) {
	b, ok := c.bg[name]
	if !ok {
		return nil, fmt.Errorf("no command was started as %q", name)
	}
	return b, nil
}

// printed waits until the background command has printed text (on
// stdout or stderr).
func (c *cliWorld) printed(name, text string) error {
	b, err := c.background(name)
	if err != nil {
		return err
	}
	text, err = c.w.expand(text)
	if err != nil {
		return err
	}
	return poll(10*time.Second, func() error {
		if strings.Contains(b.stdout.String(), text) || strings.Contains(b.stderr.String(), text) {
			return nil
		}
		select {
		case <-b.done:
			return fmt.Errorf("it exited %d without printing %q: stdout %q, stderr %q", b.code, text, b.stdout.String(), b.stderr.String())
		default:
		}
		return fmt.Errorf("it has not printed %q: stdout %q, stderr %q", text, b.stdout.String(), b.stderr.String())
	})
}

// exitsWithin waits for the background command to end; its outcome is
// then the last command's.
func (c *cliWorld) exitsWithin(name string, code, secs int) error {
	b, err := c.background(name)
	if err != nil {
		return err
	}
	select {
	case <-b.done:
	case <-time.After(time.Duration(secs) * time.Second):
		return fmt.Errorf("%q still runs after %ds: stdout %q, stderr %q", name, secs, b.stdout.String(), b.stderr.String())
	}
	c.last = &cliResult{code: b.code, stdout: b.stdout.String(), stderr: b.stderr.String()}
	return c.exits(code)
}

func (c *cliWorld) result() (*cliResult, error) {
	if c.last == nil {
		return nil, fmt.Errorf("no command was run")
	}
	return c.last, nil
}

func (c *cliWorld) exits(code int) error {
	r, err := c.result()
	if err != nil {
		return err
	}
	if r.code != code {
		return fmt.Errorf("exit %d, want %d; stdout %q, stderr %q", r.code, code, r.stdout, r.stderr)
	}
	return nil
}

func (c *cliWorld) outputContains(stream, text string) error {
	r, err := c.result()
	if err != nil {
		return err
	}
	text, err = c.w.expand(text)
	if err != nil {
		return err
	}
	got := r.stdout
	if stream == "error output" {
		got = r.stderr
	}
	if !strings.Contains(got, text) {
		return fmt.Errorf("the %s does not contain %q: %q (exit %d)", stream, text, got, r.code)
	}
	return nil
}

// linesMatching checks how many lines of the output match a regular
// expression (after ${variables} are expanded, their values quoted).
func (c *cliWorld) linesMatching(n int, expr string) error {
	r, err := c.result()
	if err != nil {
		return err
	}
	var missing []string
	expr = varRE.ReplaceAllStringFunc(expr, func(m string) string {
		name := varRE.FindStringSubmatch(m)[1]
		if v, ok := c.w.vars[name]; ok {
			return regexp.QuoteMeta(v)
		}
		missing = append(missing, name)
		return m
	})
	if len(missing) > 0 {
		return fmt.Errorf("nothing remembered as %s", strings.Join(missing, ", "))
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return err
	}
	got := 0
	for _, l := range strings.Split(r.stdout, "\n") {
		if re.MatchString(l) {
			got++
		}
	}
	if got != n {
		return fmt.Errorf("%d lines match %q, want %d; the output:\n%s", got, expr, n, r.stdout)
	}
	return nil
}

// rememberOutput remembers the output, trimmed (an id, a token).
func (c *cliWorld) rememberOutput(name string) error {
	r, err := c.result()
	if err != nil {
		return err
	}
	v := strings.TrimSpace(r.stdout)
	if v == "" || strings.Contains(v, "\n") {
		return fmt.Errorf("the output is not one value: %q (stderr %q)", r.stdout, r.stderr)
	}
	c.w.vars[name] = v
	return nil
}

// jsonOutputContains matches the command's JSON output partially.
func (c *cliWorld) jsonOutputContains(doc *godog.DocString) error {
	r, err := c.result()
	if err != nil {
		return err
	}
	want, err := c.w.expected(doc)
	if err != nil {
		return err
	}
	var got any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		return fmt.Errorf("the output is not JSON (%v): %q", err, r.stdout)
	}
	return partialMatch(want, got, "output")
}

func (c *cliWorld) localFile(name string, n int) error {
	d, err := c.dir()
	if err != nil {
		return err
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(d, name), b, 0o600)
}

func (c *cliWorld) sameBytes(a, b string) error {
	d, err := c.dir()
	if err != nil {
		return err
	}
	x, err := os.ReadFile(filepath.Join(d, a))
	if err != nil {
		return err
	}
	y, err := os.ReadFile(filepath.Join(d, b))
	if err != nil {
		return err
	}
	if !bytes.Equal(x, y) {
		return fmt.Errorf("%s (%d bytes) and %s (%d bytes) differ", a, len(x), b, len(y))
	}
	return nil
}

func (c *cliWorld) noteLeaderID(name string) error {
	i, err := c.w.agent("the leader")
	if err != nil {
		return err
	}
	c.w.vars[name] = c.w.nodeID(i)
	return nil
}

// noteCA remembers the TLS cluster's CA certificate file.
func (c *cliWorld) noteCA(name string) error {
	if c.w.c == nil {
		return fmt.Errorf("no cluster is running")
	}
	f := filepath.Join(c.w.c.Root(), "tls", tlsutil.CAFile)
	if _, err := os.Stat(f); err != nil {
		return fmt.Errorf("the cluster has no CA: %w", err)
	}
	c.w.vars[name] = f
	return nil
}

func cliSteps(sc *godog.ScenarioContext, w *world) {
	c := &cliWorld{w: w, bg: map[string]*cliBackground{}}
	const as = `(?: as "([^"]*)")?`
	const against = `(?: against ` + who + `)?`
	sc.Step(`^I run "(custodes[^"]*)"`+as+against+`$`, func(line, user, who string) error { return c.run(line, user, who, "") })
	sc.Step(`^I run "(custodes[^"]*)"`+as+` with the input "([^"]*)"$`, func(line, user, input string) error { return c.run(line, user, "", input) })
	sc.Step(`^I start the command "(custodes[^"]*)"`+as+` in the background as "([^"]*)"$`, c.start)
	sc.Step(`^the background command "([^"]*)" has printed "(.*)"$`, c.printed)
	sc.Step(`^the background command "([^"]*)" exits (\d+) within (\d+) seconds$`, c.exitsWithin)
	sc.Step(`^it exits (\d+)$`, c.exits)
	sc.Step(`^the (output|error output) contains "(.*)"$`, c.outputContains)
	sc.Step(`^the output has (\d+) lines? matching "(.*)"$`, c.linesMatching)
	sc.Step(`^the JSON output contains:$`, c.jsonOutputContains)
	sc.Step(`^I remember the output as "([^"]*)"$`, c.rememberOutput)
	sc.Step(`^a local file "([^"]*)" of (\d+) random bytes$`, c.localFile)
	sc.Step(`^the local files "([^"]*)" and "([^"]*)" have the same bytes$`, c.sameBytes)
	sc.Step(`^there is no local file "([^"]*)"$`, c.noLocalFile)
	sc.Step(`^a proxy to `+who+` that stalls after (\d+) bytes of each answer, as "([^"]*)"$`, c.stallingProxy)
	sc.Step(`^I note the leader's node id as "([^"]*)"$`, c.noteLeaderID)
	sc.Step(`^I note the cluster's CA certificate file as "([^"]*)"$`, c.noteCA)
}
