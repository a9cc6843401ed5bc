package cluster_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodes/custodes/agent/agenttest"
	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/keyring"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// The log cannot be poisoned: every malformed, nested, unknown-type,
// truncated, invalid and oversized command sent to every internal route of
// every agent, with and without client writes going on, leaves no entry
// in the log; every agent stays up and comes back after a restart (a
// poisoned entry would make each replica panic again on replay).

// frame makes an apply call's body out of commands.
func frame(cmds ...[]byte) []byte {
	b := binary.AppendUvarint(nil, uint64(len(cmds)))
	for _, c := range cmds {
		b = binary.AppendUvarint(b, uint64(len(c)))
		b = append(b, c...)
	}
	return b
}

func command(t fsm.MessageType, body string) []byte {
	return append([]byte{byte(t)}, body...)
}

// poisonCommands are commands no leader may propose; every one names a
// service or id with "poison" so the log can be searched for them.
func poisonCommands() map[string][]byte {
	reg := `{"name":"poison","address":"10.9.9.9:80"}`
	big := `{"name":"poison","address":"10.9.9.9:80","meta":{"k":"` + strings.Repeat("x", 3<<20) + `"}}`
	return map[string][]byte{
		"empty":              {},
		"unknown type 5":     command(5, reg),
		"unknown type 32":    command(32, reg),
		"unknown type 255":   command(255, reg),
		"batch":              fsm.EncodeBatch([][]byte{command(fsm.RegisterRequestType, reg)}),
		"nested batch":       fsm.EncodeBatch([][]byte{fsm.EncodeBatch([][]byte{command(fsm.RegisterRequestType, reg)})}),
		"bare batch byte":    {byte(fsm.BatchRequestType)},
		"truncated json":     command(fsm.RegisterRequestType, `{"name":"poison","addr`),
		"unknown field":      command(fsm.RegisterRequestType, `{"name":"poison","address":"10.9.9.9:80","evil":1}`),
		"wrong type":         command(fsm.RegisterRequestType, `{"name":["poison"],"address":"10.9.9.9:80"}`),
		"trailing data":      command(fsm.RegisterRequestType, reg+`{"name":"poison"}`),
		"not json":           command(fsm.RegisterRequestType, "\x00\xffpoison"),
		"invalid name":       command(fsm.RegisterRequestType, `{"name":"Poison!","address":"10.9.9.9:80"}`),
		"invalid address":    command(fsm.RegisterRequestType, `{"name":"poison","address":"nowhere"}`),
		"invalid status":     command(fsm.SetStatusRequestType, `{"id":"poison-id","status":"bogus"}`),
		"unknown id update":  command(fsm.UpdateInstanceRequestType, `{"id":"poison-id","version":"2"}`),
		"unknown id delete":  command(fsm.DeregisterRequestType, `{"id":"poison-id"}`),
		"unknown id status":  command(fsm.SetStatusRequestType, `{"id":"poison-id","status":"critical"}`),
		"oversized":          command(fsm.RegisterRequestType, big),
		"null":               command(fsm.RegisterRequestType, `null`),
		"register as update": command(fsm.UpdateInstanceRequestType, reg),
	}
}

// poisonBodies are the bodies sent to every route: each poison command
// framed alone and among good framing, then broken framings.
func poisonBodies() map[string][]byte {
	out := map[string][]byte{}
	for name, c := range poisonCommands() {
		out["framed "+name] = frame(c)
		out["raw "+name] = c
	}
	reg := command(fsm.RegisterRequestType, `{"name":"poison","address":"10.9.9.9:80"}`)
	out["framing: count 0"] = binary.AppendUvarint(nil, 0)
	out["framing: count too high"] = append(binary.AppendUvarint(nil, 100000), frame(reg)[1:]...)
	out["framing: fewer commands than counted"] = append(binary.AppendUvarint(nil, 2), frame(reg)[1:]...)
	out["framing: truncated"] = frame(reg)[:len(frame(reg))-3]
	out["framing: trailing bytes"] = append(frame(reg), 1, 2, 3)
	out["framing: huge length"] = append(binary.AppendUvarint([]byte{1}, 1<<62), reg...)
	out["framing: bad varint"] = bytes.Repeat([]byte{0xff}, 12)
	out["empty"] = nil
	return out
}

var internalRoutes = []string{
	"/internal/v1/apply", "/internal/v1/call/heartbeat", "/internal/v1/call/remove-peer",
	"/internal/v1/call/health", "/internal/v1/call/nothing", "/internal/v1/read-index",
	"/internal/v1/status", "/internal/v1/alive", "/internal/v1/nothing",
	"/internal/apply", "/internal/forward", "/internal/read-index",
}

func TestPoisonNeverReachesTheLog(t *testing.T) {
	// The cluster has a key and the poison is signed with it: the worst
	// case, an agent's own key in the wrong hands. Unsigned, every call is
	// refused before anything is read.
	key, _ := keyring.Generate()
	keys, err := keyring.Parse(key)
	if err != nil {
		t.Fatal(err)
	}
	signer := keyring.NewSigner(keys)
	c := startCluster(t, 3, agenttest.Options{Keys: keys})
	bodies := poisonBodies()
	for _, route := range internalRoutes {
		req, _ := http.NewRequest(http.MethodPost, c.URL(0)+route, bytes.NewReader(frame([]byte("x"))))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("unsigned POST %s: %d, want 401", route, resp.StatusCode)
		}
	}

	// Client writes go on during the second round.
	var written, tried atomic.Int64
	stop := make(chan struct{})
	var writers sync.WaitGroup
	startWriters := func() {
		for w := range 3 {
			writers.Add(1)
			go func() {
				defer writers.Done()
				for i := 0; i < 400; i++ {
					select {
					case <-stop:
						return
					default:
					}
					body, _ := json.Marshal(map[string]string{"name": "good", "address": fmt.Sprintf("10.1.%d.%d:80", 2*w+i/250, i%250+1)})
					tried.Add(1)
					resp, err := client.Post(c.URL(w)+"/register", "application/json", bytes.NewReader(body))
					if err == nil {
						if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK {
							written.Add(1)
						}
						resp.Body.Close()
					}
				}
			}()
		}
	}
	for round, concurrent := range []bool{false, true} {
		if concurrent {
			startWriters()
		}
		// One sender per agent and route, all at once.
		var senders sync.WaitGroup
		for i := range c.Agents {
			for _, route := range internalRoutes {
				senders.Add(1)
				go func() {
					defer senders.Done()
					for name, body := range bodies {
						for _, method := range []string{http.MethodPost, http.MethodGet} {
							req, _ := http.NewRequest(method, c.URL(i)+route, bytes.NewReader(body))
							req.Header.Set("Content-Type", "application/octet-stream")
							signer.SignBody(req, body)
							resp, err := client.Do(req)
							if err != nil {
								t.Errorf("round %d agent %d %s %s (%s): %v", round, i, method, route, name, err)
								return
							}
							answer, _ := io.ReadAll(resp.Body)
							resp.Body.Close()
							if resp.StatusCode == http.StatusUnauthorized {
								t.Errorf("agent %d %s %s (%s): signed, yet %d %s", i, method, route, name, resp.StatusCode, answer)
							}
							if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
								t.Errorf("agent %d %s %s (%s): %d %s", i, method, route, name, resp.StatusCode, answer)
							}
						}
					}
				}()
			}
		}
		senders.Wait()
	}
	close(stop)
	writers.Wait()
	if written.Load() == 0 {
		t.Fatal("no client write succeeded alongside the poison")
	}
	leader, err := c.WaitForLeader(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Every agent applies everything committed, then all stop.
	last := c.Agents[leader].Node().Status().FSMIndex
	if err := c.WaitForIndex(last, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	dirs := make([]string, len(c.Agents))
	for i, a := range c.Agents {
		dirs[i] = a.Config().Cluster.DataDir
		c.Stop(i)
	}
	for i, dir := range dirs {
		scanLog(t, i, filepath.Join(dir, "raft.db"))
	}
	// Replay: every agent comes back, a leader is elected, and the state
	// holds the client writes and no poison.
	for i := range c.Agents {
		if err := c.Restart(i); err != nil {
			t.Fatalf("restart agent %d: %v", i, err)
		}
	}
	if _, err := c.WaitForLeader(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitForIndex(last, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for i, a := range c.Agents {
		f := a.Node().FSM()
		if got, _, _ := f.Service("poison", ""); len(got) != 0 {
			t.Errorf("agent %d holds poison: %+v", i, got)
		}
		// Every acknowledged write is there; a write that failed (a 503
		// "may or may not have been applied") may be too.
		if good, _, _ := f.Service("good", ""); int64(len(good)) < written.Load() || int64(len(good)) > tried.Load() {
			t.Errorf("agent %d holds %d good instances, %d were acknowledged of %d tried", i, len(good), written.Load(), tried.Load())
		}
	}
}

// scanLog reads a stopped agent's Raft log and fails on any command that
// does not decode strictly or that names poison.
func scanLog(t *testing.T, agent int, path string) {
	t.Helper()
	store, err := raftboltdb.New(raftboltdb.Options{Path: path})
	if err != nil {
		t.Fatalf("agent %d: open log: %v", agent, err)
	}
	defer store.Close()
	first, _ := store.FirstIndex()
	last, _ := store.LastIndex()
	commands := 0
	for i := first; i <= last && i > 0; i++ {
		var l raft.Log
		if err := store.GetLog(i, &l); err != nil {
			t.Fatalf("agent %d: log %d: %v", agent, i, err)
		}
		if l.Type != raft.LogCommand {
			continue
		}
		cmds := [][]byte{l.Data}
		if len(l.Data) > 0 && fsm.MessageType(l.Data[0]) == fsm.BatchRequestType {
			if cmds, err = fsm.SplitBatch(l.Data); err != nil {
				t.Fatalf("agent %d: entry %d: %v", agent, i, err)
			}
		}
		for _, c := range cmds {
			commands++
			if _, _, err := fsm.DecodeCommand(c); err != nil {
				t.Errorf("agent %d: entry %d holds a command that does not decode: %v", agent, i, err)
			}
			if bytes.Contains(bytes.ToLower(c), []byte("poison")) {
				t.Errorf("agent %d: entry %d holds poison: %.200q", agent, i, c)
			}
		}
	}
	if commands == 0 {
		t.Errorf("agent %d: the log holds no command at all (the scan read nothing?)", agent)
	}
}

// Without a cluster key nobody can be told apart from an agent, so
// commands that change who may do what (users, tokens) are refused over
// the agents' protocol: a stranger cannot make itself a manager.
func TestPrivilegedCommandsNeedAnAuthenticatedAgent(t *testing.T) {
	c := startCluster(t, 3, agenttest.Options{})
	hash := strings.Repeat("ab", 32)
	refused := 0
	for _, cmd := range [][]byte{
		command(fsm.ACLBootstrapRequestType, `{"token_hash":"`+hash+`"}`),
		command(fsm.ACLCreateUserRequestType, `{"name":"intruder","roles":["management"],"token_hash":"`+hash+`"}`),
	} {
		for i := range c.Agents {
			resp, err := client.Post(c.URL(i)+"/internal/v1/apply", "application/octet-stream", bytes.NewReader(frame(cmd)))
			if err != nil {
				t.Fatal(err)
			}
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && !bytes.Contains(answer, []byte("without a cluster key")) {
				t.Errorf("agent %d took %q: %q", i, cmd, answer)
			}
			if bytes.Contains(answer, []byte("without a cluster key")) {
				refused++ // the leader's answer; followers say "not the leader"
			}
		}
	}
	if refused != 2 {
		t.Errorf("the leader refused %d of 2 commands for want of a key", refused)
	}
	for i, a := range c.Agents {
		if a.Node().FSM().ACLBootstrapped() || len(a.Node().FSM().Users()) != 0 {
			t.Errorf("agent %d holds users: %+v", i, a.Node().FSM().Users())
		}
	}
}
