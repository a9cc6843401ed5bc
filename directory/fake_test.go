package directory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/custodes/custodes/cluster"
	"github.com/custodes/custodes/cluster/gossip"
	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/acl"
	"github.com/custodes/custodes/fsm/fileservers"
	"github.com/hashicorp/raft"
)

// fakeCluster is one agent that is also the leader: proposals are
// stamped and applied to a real FSM at once, leader operations run in
// place, and gossip reports whom the test says.
type fakeCluster struct {
	mu    sync.Mutex
	f     *fsm.FSM
	index uint64
	ops   map[string]cluster.LeaderOp
	dead  map[string]bool
}

func newFakeCluster(t *testing.T, servers ...string) *fakeCluster {
	t.Helper()
	c := &fakeCluster{f: fsm.New(fsm.Config{}), ops: map[string]cluster.LeaderOp{}, dead: map[string]bool{}}
	for _, s := range servers {
		if _, err := c.Propose(context.Background(), fsm.DFSRegisterServerRequestType, &fileservers.RegisterRequest{ID: s, Address: s + ":1"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"alice", "bob"} {
		sum := fsm.HashToken(u)
		if _, err := c.Propose(context.Background(), fsm.ACLCreateUserRequestType, &acl.CreateUserRequest{Name: u, Roles: []string{acl.RoleServicesRead}, TokenHash: sum}); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *fakeCluster) ID() string                                      { return "agent1" }
func (c *fakeCluster) FSM() *fsm.FSM                                   { return c.f }
func (c *fakeCluster) HandleLeaderOp(name string, op cluster.LeaderOp) { c.ops[name] = op }

func (c *fakeCluster) Propose(ctx context.Context, t fsm.MessageType, req any) (cluster.Applied, error) {
	if err := c.f.Validate(t, req); err != nil {
		return cluster.Applied{}, err
	}
	if err := c.f.Precheck(t, req); err != nil {
		return cluster.Applied{}, err
	}
	if s, ok := req.(fsm.Stamper); ok {
		s.Stamp(time.Now(), func() string { return "stamped" })
	}
	data, err := fsm.Encode(t, req)
	if err != nil {
		return cluster.Applied{}, err
	}
	c.mu.Lock()
	c.index++
	idx := c.index
	c.mu.Unlock()
	resp := c.f.Apply(&raft.Log{Index: idx, Data: data, Type: raft.LogCommand})
	if err, ok := resp.(error); ok {
		return cluster.Applied{Index: idx}, err
	}
	return cluster.Applied{Resp: resp, Index: idx, By: "agent1"}, nil
}

func (c *fakeCluster) ConsistentRead(ctx context.Context) (uint64, error) { return c.index, nil }

func (c *fakeCluster) CallLeader(ctx context.Context, op string, arg []byte) ([]byte, string, error) {
	out, err := c.ops[op](ctx, arg)
	return out, "agent1", err
}

func (c *fakeCluster) Members() []cluster.Member {
	var out []cluster.Member
	for _, s := range c.f.Servers() {
		st := gossip.StateAlive
		if c.dead[s.ID] {
			st = gossip.StateDead
		}
		out = append(out, cluster.Member{Name: s.ID, Role: gossip.RoleFile, State: st})
	}
	return out
}

// fakeCopies is file servers in memory. failAfter makes a server's puts
// and gets break after that many bytes; down makes it refuse at once.
type fakeCopies struct {
	mu        sync.Mutex
	data      map[string][]byte // addr/file/version -> bytes
	fences    map[string]uint64 // addr/file -> highest fence
	down      map[string]bool
	failAfter map[string]int64
}

func newFakeCopies() *fakeCopies {
	return &fakeCopies{data: map[string][]byte{}, fences: map[string]uint64{}, down: map[string]bool{}, failAfter: map[string]int64{}}
}

var errDown = errors.New("connection refused")

func key(addr, file string, version uint64) string {
	return fmt.Sprintf("%s/%s/%d", addr, file, version)
}

func (f *fakeCopies) Put(ctx context.Context, addr, file string, version, fence uint64, body io.Reader) (CopyInfo, error) {
	f.mu.Lock()
	down, limit := f.down[addr], f.failAfter[addr]
	if fence < f.fences[addr+"/"+file] {
		f.mu.Unlock()
		return CopyInfo{}, ErrFenced
	}
	f.mu.Unlock()
	if down {
		return CopyInfo{}, errDown
	}
	var buf bytes.Buffer
	var r io.Reader = body
	if limit > 0 {
		r = io.LimitReader(body, limit)
	}
	if _, err := io.Copy(&buf, r); err != nil {
		return CopyInfo{}, err
	}
	if limit > 0 {
		return CopyInfo{}, errors.New("broke off")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data[key(addr, file, version)] = buf.Bytes()
	f.fences[addr+"/"+file] = max(f.fences[addr+"/"+file], fence)
	return CopyInfo{Size: int64(buf.Len()), SHA256: sha(buf.Bytes())}, nil
}

func (f *fakeCopies) Get(ctx context.Context, addr, file string, version uint64, offset int64) (io.ReadCloser, CopyInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down[addr] {
		return nil, CopyInfo{}, errDown
	}
	b, ok := f.data[key(addr, file, version)]
	if !ok {
		return nil, CopyInfo{}, errors.New("no such copy")
	}
	info := CopyInfo{Size: int64(len(b)), SHA256: sha(b)}
	b = b[offset:]
	if n := f.failAfter[addr]; n > 0 && int64(len(b)) > n {
		return io.NopCloser(io.MultiReader(bytes.NewReader(b[:n]), errReader{})), info, nil
	}
	return io.NopCloser(bytes.NewReader(b)), info, nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func (f *fakeCopies) Delete(ctx context.Context, addr, file string, version uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.data, key(addr, file, version))
	return nil
}

func (f *fakeCopies) DeleteAll(ctx context.Context, addr, file string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for v := uint64(1); v < 100; v++ {
		delete(f.data, key(addr, file, v))
	}
	return nil
}

func (f *fakeCopies) has(addr, file string, version uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.data[key(addr, file, version)]
	return ok
}
