package features

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	"github.com/custodes/custodes/agent"
	"github.com/custodes/custodes/agent/agenttest"
)

// The file system's steps: a cluster of agents and file servers with
// ACLs bootstrapped and three users, shared by the scenarios of
// dfs.feature (wiped before each), or fresh for one scenario.

// dfsMaxFileSize is the scenarios' --max-file-size: small, so that the
// limit can be crossed cheaply.
const dfsMaxFileSize = 4_000_000

// dfsSuite owns the shared file-system cluster and its users' tokens.
type dfsSuite struct {
	once   sync.Once
	c      *agenttest.Cluster
	tokens map[string]string
	err    error
}

// release shuts the shared file-system cluster down; the next scenario
// that asks for it starts another.
func (s *dfsSuite) release() {
	if s.c != nil {
		s.c.Shutdown()
	}
	s.once, s.c, s.tokens, s.err = sync.Once{}, nil, nil, nil
}

// dfsWorld is one scenario's file-system state.
type dfsWorld struct {
	w       *world
	suite   *dfsSuite
	users   []string
	written map[string][]byte // name -> the bytes written under it
	owner   map[string]string // name -> who wrote it
	loads   []serverLoad      // noted before a placement
	killed  string            // the file server a step killed
}

type serverLoad struct {
	ID    string `json:"id"`
	Ring  uint64 `json:"ring"`
	Files int64  `json:"files"`
	Bytes int64  `json:"bytes"`
	State string `json:"state"`
}

// startFileSystem starts agents and file servers with a key, bootstraps
// ACLs and creates the users, returning their tokens (and "root").
func startFileSystem(agents, servers int, users []string) (*agenttest.Cluster, map[string]string, error) {
	return agenttest.StartFileSystem(agents, users, agenttest.Options{
		FileServers: servers,
		Configure:   func(i int, cfg *agent.Config) { cfg.Directory.MaxFileSize = dfsMaxFileSize },
	})
}

func (d *dfsWorld) fileSystem(fresh bool) func(agents, servers int, u1, u2, u3 string) error {
	return func(agents, servers int, u1, u2, u3 string) error {
		users := []string{u1, u2, u3}
		d.users = users
		var tokens map[string]string
		if fresh {
			c, t, err := startFileSystem(agents, servers, users)
			if err != nil {
				return err
			}
			if d.w.fresh && d.w.c != nil {
				d.w.c.Shutdown()
			}
			d.w.c, d.w.fresh, tokens = c, true, t
		} else {
			if agents != 3 || servers != 3 || strings.Join(users, ",") != "alice,bob,carol" {
				return fmt.Errorf("the shared file system is 3 agents, 3 file servers, alice, bob and carol; ask for a fresh one otherwise")
			}
			d.suite.once.Do(func() { d.suite.c, d.suite.tokens, d.suite.err = startFileSystem(3, 3, users) })
			if d.suite.err != nil {
				return d.suite.err
			}
			d.w.c, tokens = d.suite.c, d.suite.tokens
		}
		for name, tok := range tokens {
			d.w.vars[name] = tok
		}
		if fresh {
			return nil
		}
		return d.wipe()
	}
}

// wipe deletes every file of every user, so each scenario starts empty.
func (d *dfsWorld) wipe() error {
	return poll(10*time.Second, func() error {
		for _, u := range d.users {
			r, err := d.send(0, u, http.MethodGet, "/all", nil, nil)
			if err != nil {
				return err
			}
			var list struct {
				Files []struct{ Name, Owner string } `json:"files"`
			}
			if err := json.Unmarshal(r.body, &list); err != nil {
				return fmt.Errorf("wipe: /all: %d %s", r.status, r.body)
			}
			for _, f := range list.Files {
				if f.Owner != u {
					continue
				}
				r, err := d.send(0, u, http.MethodDelete, "/file?name="+url.QueryEscape(f.Name), nil, nil)
				if err != nil {
					return err
				}
				if r.status != http.StatusOK && r.status != http.StatusNotFound {
					return fmt.Errorf("wipe %s: %d %s", f.Name, r.status, r.body)
				}
			}
			if len(list.Files) > 0 {
				return fmt.Errorf("wipe: %s still had %d files", u, len(list.Files))
			}
		}
		return nil
	})
}

// send makes one request to agent i as user, with extra headers.
func (d *dfsWorld) send(i int, user, method, path string, body []byte, header http.Header) (*response, error) {
	tok, ok := d.w.vars[user]
	if !ok {
		return nil, fmt.Errorf("no token for %q", user)
	}
	h := http.Header{"Authorization": {"Bearer " + tok}}
	for k, v := range header {
		h[k] = v
	}
	d.w.nextHeader = h
	ctx := d.w.withNextHeader(d.w.ctx)
	path, err := d.w.expand(path)
	if err != nil {
		return nil, err
	}
	// The body goes as it is: a file's bytes are not a template.
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	return d.w.do(ctx, i, method, path, r)
}

// do is send to the agent named in a step, as the scenario's last answer.
func (d *dfsWorld) do(who, user, method, path string, body []byte, header http.Header) error {
	i, err := d.w.agent(who)
	if err != nil {
		return err
	}
	d.w.asked = i
	d.w.last, err = d.send(i, user, method, path, body, header)
	return err
}

func (d *dfsWorld) writeRandom(user string, n int, name, who string) error {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	return d.write(user, b, name, who)
}

func (d *dfsWorld) write(user string, b []byte, name, who string) error {
	d.written[name], d.owner[name] = b, user
	return d.do(who, user, http.MethodPost, "/write?name="+url.QueryEscape(name), b, nil)
}

func (d *dfsWorld) writeText(user, text, name, who string) error {
	return d.write(user, []byte(text), name, who)
}

func (d *dfsWorld) writeLongName(user string, n int) error {
	return d.write(user, []byte("x"), strings.Repeat("a", n), "a follower")
}

func (d *dfsWorld) read(user, name, who string) error {
	return d.readOf(user, name, user, who)
}

func (d *dfsWorld) readOf(user, name, owner, who string) error {
	return d.do(who, user, http.MethodGet, "/read?name="+url.QueryEscape(name)+"&owner="+url.QueryEscape(owner), nil, nil)
}

func (d *dfsWorld) sendWithHeader(method, path, who, user, header string) error {
	header, err := d.w.expand(header)
	if err != nil {
		return err
	}
	name, value, ok := strings.Cut(header, ":")
	if !ok {
		return fmt.Errorf("header %q: say Name: value", header)
	}
	path, err = d.w.expand(path)
	if err != nil {
		return err
	}
	return d.do(who, user, method, path, nil, http.Header{strings.TrimSpace(name): {strings.TrimSpace(value)}})
}

func (d *dfsWorld) update(user, name, text, token, who string) error {
	return d.updateOf(user, name, user, text, token, who)
}

func (d *dfsWorld) updateOf(user, name, owner, text, token, who string) error {
	token, err := d.w.expand(token)
	if err != nil {
		return err
	}
	return d.do(who, user, http.MethodPost, "/update?name="+url.QueryEscape(name)+"&owner="+url.QueryEscape(owner),
		[]byte(text), http.Header{"X-Lock-Token": {token}})
}

func (d *dfsWorld) bodyIsWritten(name string) error {
	want, ok := d.written[name]
	if !ok {
		return fmt.Errorf("nothing was written as %q", name)
	}
	if !bytes.Equal(d.w.last.body, want) {
		return fmt.Errorf("the body has %d bytes (SHA-256 %s), the write had %d (%s)", len(d.w.last.body), hexSum(d.w.last.body), len(want), hexSum(want))
	}
	return nil
}

func (d *dfsWorld) bodyIs(text string) error {
	if string(d.w.last.body) != text {
		return fmt.Errorf("the body is %q, want %q", d.w.last.body, text)
	}
	return nil
}

func (d *dfsWorld) bodyContains(text string) error {
	if !strings.Contains(string(d.w.last.body), text) {
		return fmt.Errorf("the body does not contain %q: %.2000s", text, d.w.last.body)
	}
	return nil
}

func (d *dfsWorld) bodyIsRange(from, to int, name string) error {
	want, ok := d.written[name]
	if !ok || to >= len(want) {
		return fmt.Errorf("no bytes %d to %d were written as %q", from, to, name)
	}
	if !bytes.Equal(d.w.last.body, want[from:to+1]) {
		return fmt.Errorf("the body is not bytes %d to %d of %q: %d bytes", from, to, name, len(d.w.last.body))
	}
	return nil
}

func (d *dfsWorld) etagIs(header, name string) error {
	want := `"` + hexSum(d.written[name]) + `"`
	if got := d.w.last.header.Get(header); got != want {
		return fmt.Errorf("header %s is %q, want %q", header, got, want)
	}
	return nil
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (d *dfsWorld) hasWritten(user string, n int) error {
	for i := 0; i < n; i++ {
		if err := d.writeRandom(user, 10+i, fmt.Sprintf("load-%d", i), "the leader"); err != nil {
			return err
		}
		if d.w.last.status != http.StatusCreated {
			return fmt.Errorf("write %d: %d %s", i, d.w.last.status, d.w.last.body)
		}
	}
	return nil
}

// overview reads /admin/dfs from agent i.
func (d *dfsWorld) overview(i int) ([]serverLoad, error) {
	r, err := d.send(i, "root", http.MethodGet, "/admin/dfs", nil, nil)
	if err != nil {
		return nil, err
	}
	var o struct {
		Servers []serverLoad `json:"servers"`
	}
	if err := json.Unmarshal(r.body, &o); err != nil || r.status != http.StatusOK {
		return nil, fmt.Errorf("/admin/dfs: %d %s", r.status, r.body)
	}
	return o.Servers, nil
}

func (d *dfsWorld) noteLoads() error {
	l, err := d.w.agent("the leader")
	if err != nil {
		return err
	}
	d.loads, err = d.overview(l)
	return err
}

// placedAsNoted checks the placement rule against the loads noted
// before: the primary is the server with the fewest files (then the
// fewest files on its successor, then bytes, then ring order) and the
// backup the next server on the ring.
func (d *dfsWorld) placedAsNoted(name string) error {
	var got struct {
		Replicas []string `json:"replicas"`
	}
	if err := json.Unmarshal(d.w.last.body, &got); err != nil {
		return err
	}
	ring := slices.Clone(d.loads)
	slices.SortFunc(ring, func(a, b serverLoad) int { return int(a.Ring) - int(b.Ring) })
	next := func(i int) int64 { return ring[(i+1)%len(ring)].Files }
	least := 0
	for i, s := range ring {
		l := ring[least]
		if c := cmp.Or(cmp.Compare(s.Files, l.Files), cmp.Compare(next(i), next(least)), cmp.Compare(s.Bytes, l.Bytes)); c < 0 {
			least = i
		}
	}
	want := []string{ring[least].ID, ring[(least+1)%len(ring)].ID}
	if !slices.Equal(got.Replicas, want) {
		return fmt.Errorf("%q is on %v; with the loads %+v the least loaded and its successor are %v", name, got.Replicas, d.loads, want)
	}
	return nil
}

func (d *dfsWorld) copiesDistinct(user string) error {
	r, err := d.send(0, user, http.MethodGet, "/all", nil, nil)
	if err != nil {
		return err
	}
	var list struct {
		Files []struct{ Name string } `json:"files"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil {
		return err
	}
	if len(list.Files) == 0 {
		return fmt.Errorf("%s has no files", user)
	}
	for _, f := range list.Files {
		st, err := d.send(0, user, http.MethodGet, "/stat?name="+url.QueryEscape(f.Name), nil, nil)
		if err != nil {
			return err
		}
		var s struct {
			Replicas []string `json:"replicas"`
		}
		if err := json.Unmarshal(st.body, &s); err != nil {
			return err
		}
		c := slices.Clone(s.Replicas)
		slices.Sort(c)
		if len(c) != 2 || len(slices.Compact(c)) != 2 {
			return fmt.Errorf("%q has replicas %v: want 2 on distinct servers", f.Name, s.Replicas)
		}
	}
	return nil
}

func (d *dfsWorld) notFoundEverywhere(user, name, owner string) error {
	for i, a := range d.w.c.Agents {
		if a == nil {
			continue
		}
		r, err := d.send(i, user, http.MethodGet, "/read?name="+url.QueryEscape(name)+"&owner="+url.QueryEscape(owner), nil, nil)
		if err != nil {
			return err
		}
		if r.status != http.StatusNotFound {
			return fmt.Errorf("agent %d answers %d", i+1, r.status)
		}
	}
	return nil
}

func (d *dfsWorld) getsLock(user, name, owner string, seconds int, as string) error {
	path := "/lock?name=" + url.QueryEscape(name) + "&owner=" + url.QueryEscape(owner)
	return poll(time.Duration(seconds)*time.Second, func() error {
		r, err := d.send(0, user, http.MethodPost, path, nil, nil)
		if err != nil {
			return err
		}
		if r.status != http.StatusOK {
			return fmt.Errorf("lock: %d %s", r.status, r.body)
		}
		var g struct{ Token string }
		if err := json.Unmarshal(r.body, &g); err != nil || g.Token == "" {
			return fmt.Errorf("lock: %s", r.body)
		}
		d.w.vars[as] = g.Token
		return nil
	})
}

// killPrimary kills the file server that holds name's primary copy.
func (d *dfsWorld) killPrimary(name string) error {
	r, err := d.send(0, d.owner[name], http.MethodGet, "/stat?name="+url.QueryEscape(name), nil, nil)
	if err != nil {
		return err
	}
	var s struct {
		Replicas []string `json:"replicas"`
	}
	if err := json.Unmarshal(r.body, &s); err != nil || len(s.Replicas) == 0 {
		return fmt.Errorf("stat %q: %d %s", name, r.status, r.body)
	}
	d.killed = s.Replicas[0]
	d.w.vars["killed"] = d.killed
	return d.w.c.KillFileServerByID(d.killed)
}

// restartKilled brings the killed file server back with its id and data;
// it registers again.
func (d *dfsWorld) restartKilled() error {
	i := d.w.c.FileServerIndex(d.killed)
	if i < 0 {
		return fmt.Errorf("no file server was killed")
	}
	return d.w.c.RestartFileServer(i)
}

func (d *dfsWorld) streamDeliversServer(event, id string) error {
	id, err := d.w.expand(id)
	if err != nil {
		return err
	}
	return poll(10*time.Second, func() error {
		d.w.stream.mu.Lock()
		defer d.w.stream.mu.Unlock()
		for _, ev := range d.w.stream.events {
			if ev["event"] == event && strings.Contains(ev["data"], `"id":"`+id+`"`) {
				return nil
			}
		}
		return fmt.Errorf("no %q event for %s among %d events", event, id, len(d.w.stream.events))
	})
}

func (d *dfsWorld) notOnKilled(name string) error {
	var got struct {
		Replicas []string `json:"replicas"`
	}
	if err := json.Unmarshal(d.w.last.body, &got); err != nil {
		return err
	}
	if d.killed == "" || slices.Contains(got.Replicas, d.killed) {
		return fmt.Errorf("%q is on %v (killed: %q)", name, got.Replicas, d.killed)
	}
	return nil
}

func dfsSteps(sc *godog.ScenarioContext, w *world, suite *dfsSuite) {
	const method = `"(GET|POST|PUT|DELETE|PATCH)"`
	d := &dfsWorld{w: w, suite: suite, written: map[string][]byte{}, owner: map[string]string{}}
	users := `with users "([^"]*)", "([^"]*)" and "([^"]*)"$`
	sc.Step(`^a file system of (\d+) agents and (\d+) file servers `+users, d.fileSystem(false))
	sc.Step(`^a fresh file system of (\d+) agents and (\d+) file servers `+users, d.fileSystem(true))
	sc.Step(`^"([^"]*)" writes (\d+) random bytes as "([^"]*)" to `+who+`$`, d.writeRandom)
	sc.Step(`^"([^"]*)" writes the text "([^"]*)" as "([^"]*)" to `+who+`$`, d.writeText)
	sc.Step(`^"([^"]*)" writes a file whose name is (\d+) bytes long$`, d.writeLongName)
	sc.Step(`^"([^"]*)" has written (\d+) files$`, d.hasWritten)
	sc.Step(`^"([^"]*)" reads "([^"]*)" from `+who+`$`, d.read)
	sc.Step(`^"([^"]*)" reads "([^"]*)" of "([^"]*)" from `+who+`$`, d.readOf)
	sc.Step(`^"([^"]*)" updates "([^"]*)" with the text "([^"]*)" and the lock token "([^"]*)" on `+who+`$`, d.update)
	sc.Step(`^"([^"]*)" updates "([^"]*)" of "([^"]*)" with the text "([^"]*)" and the lock token "([^"]*)" on `+who+`$`, d.updateOf)
	sc.Step(`^I send `+method+` "([^"]*)" to `+who+` as "([^"]*)" with the header "(.*)"$`, d.sendWithHeader)
	sc.Step(`^the body is the bytes written as "([^"]*)"$`, d.bodyIsWritten)
	sc.Step(`^the body is "(.*)"$`, d.bodyIs)
	sc.Step(`^the body contains "(.*)"$`, d.bodyContains)
	sc.Step(`^the body is bytes (\d+) to (\d+) of "([^"]*)"$`, d.bodyIsRange)
	sc.Step(`^the response header "([^"]*)" is the SHA-256 of the bytes written as "([^"]*)"$`, d.etagIs)
	sc.Step(`^I note the file servers' loads$`, d.noteLoads)
	sc.Step(`^the file "([^"]*)" is on the least-loaded file server noted, backed up on its ring successor$`, d.placedAsNoted)
	sc.Step(`^the copies of every file of "([^"]*)" are on distinct file servers$`, d.copiesDistinct)
	sc.Step(`^"([^"]*)" reading "([^"]*)" of "([^"]*)" is 404 on every agent$`, d.notFoundEverywhere)
	sc.Step(`^"([^"]*)" gets the lock of "([^"]*)" of "([^"]*)" within (\d+) seconds, remembered as "([^"]*)"$`, d.getsLock)
	sc.Step(`^the primary file server of "([^"]*)" is killed$`, d.killPrimary)
	sc.Step(`^the file "([^"]*)" is not on the killed file server$`, d.notOnKilled)
	sc.Step(`^the killed file server is restarted$`, d.restartKilled)
	sc.Step(`^the event stream delivers a "([^"]*)" event for file server "([^"]*)"$`, d.streamDeliversServer)
	replicationSteps(sc, d)
}
