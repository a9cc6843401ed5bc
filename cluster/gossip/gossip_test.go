package gossip

import (
	"testing"
	"time"

	"github.com/custodes/custodes/keyring"
)

func start(t *testing.T, name, role string, keys [][]byte) *Pool {
	t.Helper()
	p, err := Start(Config{
		Name: name, BindAddr: "127.0.0.1:0",
		GossipInterval: 20 * time.Millisecond, ProbeInterval: 100 * time.Millisecond,
		ProbeTimeout: 50 * time.Millisecond, SuspicionMult: 2, Keys: keys,
	}, Meta{Role: role, ID: name, HTTP: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown() })
	return p
}

func state(p *Pool, name string) string {
	m, ok := p.Member(name)
	if !ok {
		return ""
	}
	return m.State
}

func waitState(t *testing.T, p *Pool, name, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for state(p, name) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s never became %q (is %q)", name, want, state(p, name))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func keys(t *testing.T) [][]byte {
	t.Helper()
	k, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keyring.Parse(k)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// A process that runs no Raft (a file server) joins the pool with a role
// of its own, is seen alive with its metadata, and is seen to leave.
func TestAMemberWithoutRaftJoinsAndLeaves(t *testing.T) {
	k := keys(t)
	agent := start(t, "agent1", RoleRegistry, k)
	file := start(t, "file1", RoleFile, k)
	if err := file.Join([]string{agent.Addr()}); err != nil {
		t.Fatal(err)
	}
	waitState(t, agent, "file1", StateAlive)
	m, _ := agent.Member("file1")
	if m.Role != RoleFile || m.HTTP != "127.0.0.1:1" || m.Raft != "" {
		t.Fatalf("file1 seen as %+v", m)
	}
	waitState(t, file, "agent1", StateAlive)
	if err := file.Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	waitState(t, agent, "file1", StateLeft)
}

// Members with another key, or none, never join a keyed pool.
func TestAnotherKeyNeverJoins(t *testing.T) {
	k := keys(t)
	agent := start(t, "agent1", RoleRegistry, k)
	friend := start(t, "friend", RoleFile, k)
	other := start(t, "other", RoleFile, keys(t))
	none := start(t, "none", RoleFile, nil)
	if err := friend.Join([]string{agent.Addr()}); err != nil {
		t.Fatal(err)
	}
	_ = other.Join([]string{agent.Addr()})
	_ = none.Join([]string{agent.Addr()})
	waitState(t, agent, "friend", StateAlive) // the time the others had too
	for _, name := range []string{"other", "none"} {
		if s := state(agent, name); s == StateAlive {
			t.Errorf("%s joined a pool whose key it does not hold", name)
		}
	}
}

// Update publishes new metadata to the others.
func TestUpdatePublishesMetadata(t *testing.T) {
	a := start(t, "a", RoleRegistry, nil)
	b := start(t, "b", RoleRegistry, nil)
	if err := b.Join([]string{a.Addr()}); err != nil {
		t.Fatal(err)
	}
	waitState(t, a, "b", StateAlive)
	b.Update(func(m *Meta) { m.Bootstrapped, m.Expect = true, 3 })
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m, _ := a.Member("b"); m.Bootstrapped && m.Expect == 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the update never arrived")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
