package cli

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// The admin views: members, raft, health. Only the fields shown are
// decoded; -json prints the whole answer.

type memberView struct {
	Name   string `json:"name"`
	Gossip string `json:"gossip"`
	Raft   string `json:"raft"`
	HTTP   string `json:"http"`
	Role   string `json:"role"`
	State  string `json:"state"`
}

func runMembers(inv *invocation, args []string) error {
	f := inv.newFlags("members", "[flags]", "List the gossip members the agent knows: agents (role registry) and file servers (role file).")
	if _, err := f.operands(args, 0, 0); err != nil {
		return err
	}
	var ans struct {
		Members []memberView `json:"members"`
	}
	if done, err := f.get(inv, "/admin/members", nil, &ans); done || err != nil {
		return err
	}
	return writeTable(inv.stdout, []string{"NAME", "ROLE", "STATE", "HTTP", "RAFT", "GOSSIP"}, membersRows(ans.Members))
}

// membersRows sorts agents first, then file servers, each by name.
func membersRows(ms []memberView) [][]string {
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].Role != ms[j].Role {
			return ms[i].Role > ms[j].Role // registry before file
		}
		return ms[i].Name < ms[j].Name
	})
	rows := make([][]string, len(ms))
	for i, m := range ms {
		rows[i] = []string{m.Name, orDash(m.Role), m.State, orDash(m.HTTP), orDash(m.Raft), m.Gossip}
	}
	return rows
}

type raftView struct {
	NodeID      string       `json:"node_id"`
	State       string       `json:"state"`
	Leader      *raftLeader  `json:"leader"`
	Term        uint64       `json:"term"`
	LastIndex   uint64       `json:"last_index"`
	CommitIndex uint64       `json:"commit_index"`
	Servers     []raftServer `json:"servers"`
}

type raftLeader struct {
	ID   string `json:"id"`
	HTTP string `json:"http"`
}

type raftServer struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"`
}

type serverHealth struct {
	ID           string    `json:"id"`
	Address      string    `json:"address"`
	Voter        bool      `json:"voter"`
	Gossip       string    `json:"gossip"`
	Healthy      bool      `json:"healthy"`
	LastContact  time.Time `json:"last_contact"`
	AppliedIndex uint64    `json:"applied_index"`
	Term         uint64    `json:"term"`
}

type healthView struct {
	Leader             string         `json:"leader"`
	Servers            []serverHealth `json:"servers"`
	Voters             int            `json:"voters"`
	FailureTolerance   int            `json:"failure_tolerance"`
	CanTolerateFailure bool           `json:"can_tolerate_failure"`
}

func runRaft(inv *invocation, args []string) error {
	if len(args) > 0 && args[0] == "remove-peer" {
		return raftRemovePeer(inv, args[1:])
	}
	f := inv.newFlags("raft", "[flags] | remove-peer ID",
		"List the Raft peers as the agent asked sees its configuration: id, address, state (leader or follower),\n"+
			"voter, and last index (the peer's applied index as the leader last saw it, from /admin/health).\n"+
			"-json prints /admin/raft as it is.")
	if _, err := f.operands(args, 0, 0); err != nil {
		return err
	}
	var st raftView
	if done, err := f.get(inv, "/admin/raft", nil, &st); done || err != nil {
		return err
	}
	// The leader's view of each peer's progress. Without a leader there is
	// none: the table still shows the configuration.
	var h healthView
	_, herr := f.get(inv, "/admin/health", nil, &h) // not -json: that returned above
	if err := writeTable(inv.stdout, []string{"ID", "ADDRESS", "STATE", "VOTER", "LAST INDEX"}, raftRows(st, h, herr == nil)); err != nil {
		return err
	}
	if st.Leader == nil {
		fmt.Fprintln(inv.stderr, "custodes raft: no leader known to", st.NodeID)
	} else if herr != nil {
		fmt.Fprintln(inv.stderr, "custodes raft: last indexes unknown:", herr)
	}
	return nil
}

func raftRows(st raftView, h healthView, haveHealth bool) [][]string {
	leader := ""
	if st.Leader != nil {
		leader = st.Leader.ID
	}
	applied := map[string]uint64{}
	for _, s := range h.Servers {
		applied[s.ID] = s.AppliedIndex
	}
	rows := make([][]string, 0, len(st.Servers))
	for _, s := range st.Servers {
		state := "follower"
		if s.ID == leader {
			state = "leader"
		}
		last := "-"
		if v, ok := applied[s.ID]; ok && haveHealth {
			last = strconv.FormatUint(v, 10)
		}
		rows = append(rows, []string{s.ID, s.Address, state, yesNo(s.Suffrage == "Voter"), last})
	}
	return rows
}

func runHealth(inv *invocation, args []string) error {
	f := inv.newFlags("health", "[flags]", "Show the leader's view of every server: gossip state, health, applied index, term, last contact.")
	if _, err := f.operands(args, 0, 0); err != nil {
		return err
	}
	var h healthView
	if done, err := f.get(inv, "/admin/health", nil, &h); done || err != nil {
		return err
	}
	fmt.Fprintf(inv.stdout, "leader %s, %d voters, failure tolerance %d\n\n", orDash(h.Leader), h.Voters, h.FailureTolerance)
	now := time.Now()
	rows := make([][]string, len(h.Servers))
	for i, s := range h.Servers {
		rows[i] = []string{s.ID, s.Address, yesNo(s.Voter), s.Gossip, yesNo(s.Healthy),
			strconv.FormatUint(s.AppliedIndex, 10), strconv.FormatUint(s.Term, 10), ago(s.LastContact, now)}
	}
	return writeTable(inv.stdout, []string{"ID", "ADDRESS", "VOTER", "GOSSIP", "HEALTHY", "APPLIED", "TERM", "LAST CONTACT"}, rows)
}

// raftRemovePeer removes a server from the Raft configuration (POST
// /admin/raft/remove-peer): refused with 409 where it would cost the
// quorum. A management token, or before ACLs the cluster key.
func raftRemovePeer(inv *invocation, args []string) error {
	f := inv.newFlags("raft remove-peer", "[flags] ID",
		"Remove a server from the Raft configuration (a dead one the leader has not removed on its own).\n"+
			"Refused (409) where it would cost the cluster its quorum.")
	ops, err := f.operands(args, 1, 1)
	if err != nil {
		return err
	}
	if done, err := f.send(inv, http.MethodPost, "/admin/raft/remove-peer", nil, map[string]string{"id": ops[0]}, nil); done || err != nil {
		return err
	}
	fmt.Fprintf(inv.stdout, "removed %s from the Raft configuration\n", ops[0])
	return nil
}
