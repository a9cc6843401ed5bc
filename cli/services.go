package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// The registry: services, register, deregister, heartbeat (watch.go has
// watch).

type instanceView struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Kind        string            `json:"kind"`
	Version     string            `json:"version"`
	Address     string            `json:"address"`
	Tags        []string          `json:"tags"`
	Meta        map[string]string `json:"meta"`
	ModifyIndex uint64            `json:"modify_index"`
	Status      string            `json:"status"`
	StatusSince time.Time         `json:"status_since"`
	Check       *struct {
		HTTP string `json:"http"`
		TTL  string `json:"ttl"`
	} `json:"check"`
}

// servicesPerPage is the API's largest page.
const servicesPerPage = 1000

func runServices(inv *invocation, args []string) error {
	f := inv.newFlags("services", "[flags] [NAME]",
		"Without NAME, list every service with its instances' health. With NAME, list that service's instances\n"+
			"(critical ones too) with their health.")
	ops, err := f.operands(args, 0, 1)
	if err != nil {
		return err
	}
	c, err := f.client(inv)
	if err != nil {
		return err
	}
	if len(ops) == 1 {
		return serviceInstances(inv, f, c, ops[0])
	}
	list, raw, err := allServices(inv, c)
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(inv.stdout, raw)
	}
	return writeTable(inv.stdout, []string{"NAME", "INSTANCES", "PASSING", "CRITICAL"}, servicesRows(list))
}

// allServices reads every page of /services, so the table is the whole
// catalog. The JSON is the API's answer when one page holds it all, else
// the pages joined into one answer of the same shape, each service as the
// API sent it.
func allServices(inv *invocation, c *client) ([]serviceRow, []byte, error) {
	var list []serviceRow
	raws := []json.RawMessage{}
	for page := 1; ; page++ {
		q := url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(servicesPerPage)}}
		var p struct {
			Services []json.RawMessage `json:"services"`
			Total    int               `json:"total"`
		}
		raw, err := c.get(inv.ctx, "/services", q, &p)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range p.Services {
			var s serviceRow
			if err := json.Unmarshal(r, &s); err != nil {
				return nil, nil, fmt.Errorf("/services: the answer is not the JSON expected: %v", err)
			}
			list, raws = append(list, s), append(raws, r)
		}
		// An empty page ends it too, should the total change meanwhile.
		if len(p.Services) == 0 || page*servicesPerPage >= p.Total {
			if page == 1 {
				return list, raw, nil
			}
			joined, err := json.Marshal(map[string]any{"services": raws, "page": 1, "per_page": len(raws), "total": p.Total})
			return list, joined, err
		}
	}
}

type serviceRow struct {
	Name      string         `json:"name"`
	Instances []instanceView `json:"instances"`
}

func servicesRows(list []serviceRow) [][]string {
	rows := make([][]string, 0, len(list))
	for _, s := range list {
		passing := 0
		for _, in := range s.Instances {
			if in.Status != "critical" {
				passing++
			}
		}
		rows = append(rows, []string{s.Name, strconv.Itoa(len(s.Instances)), strconv.Itoa(passing), strconv.Itoa(len(s.Instances) - passing)})
	}
	return rows
}

// serviceInstances lists one service's instances, critical ones too (the
// lookup's ?all=true). A service whose every instance is critical answers
// 503 with them: that is a state to show, not an error.
func serviceInstances(inv *invocation, f *cmdFlags, c *client, name string) error {
	raw, _, _, err := c.call(inv.ctx, request{
		method: http.MethodGet, path: "/service/" + name, query: url.Values{"all": {"true"}},
		ok: []int{http.StatusServiceUnavailable},
	})
	if err != nil {
		return err
	}
	var ans struct {
		Error     string         `json:"error"`
		Instances []instanceView `json:"instances"`
	}
	if err := decode(raw, &ans, "/service/"+name); err != nil {
		return err
	}
	if ans.Instances == nil && ans.Error != "" {
		// A 503 of another kind (no leader): an error after all.
		return &apiError{Status: http.StatusServiceUnavailable, Msg: ans.Error}
	}
	if f.json {
		return writeJSON(inv.stdout, raw)
	}
	return writeTable(inv.stdout, []string{"ID", "ADDRESS", "VERSION", "STATUS", "SINCE", "CHECK", "TAGS", "META"}, instanceRows(ans.Instances, time.Now()))
}

func instanceRows(list []instanceView, now time.Time) [][]string {
	rows := make([][]string, len(list))
	for i, in := range list {
		check := "-"
		if in.Check != nil {
			if in.Check.TTL != "" {
				check = "ttl " + in.Check.TTL
			} else {
				check = "http"
			}
		}
		rows[i] = []string{in.ID, in.Address, orDash(in.Version), in.Status, ago(in.StatusSince, now), check,
			orDash(strings.Join(in.Tags, ",")), orDash(joinMeta(in.Meta))}
	}
	return rows
}

// registerBody is POST /register's body (api/validate.go).
type registerBody struct {
	Name    string            `json:"name"`
	Address string            `json:"address"`
	Version string            `json:"version,omitempty"`
	Kind    string            `json:"kind,omitempty"`
	Tags    []string          `json:"tags,omitempty"`
	Meta    map[string]string `json:"meta,omitempty"`
	Check   *checkBody        `json:"check,omitempty"`
	Rectify *struct {
		URL string `json:"url"`
	} `json:"rectify,omitempty"`
}

type checkBody struct {
	HTTP                   string `json:"http,omitempty"`
	Interval               string `json:"interval,omitempty"`
	Timeout                string `json:"timeout,omitempty"`
	FailuresBeforeCritical int    `json:"failures_before_critical,omitempty"`
	SuccessesBeforePassing int    `json:"successes_before_passing,omitempty"`
	DeregisterAfter        string `json:"deregister_after,omitempty"`
	TTL                    string `json:"ttl,omitempty"`
}

type registerFlags struct {
	name, address, version, kind, rectify, file string
	port                                        int
	tags                                        listFlag
	meta                                        mapFlag
	check                                       bool
	checkBody
}

func (r *registerFlags) bind(f *cmdFlags) {
	f.StringVar(&r.name, "name", "", "the service's name (required; a-z, 0-9 and '-')")
	f.StringVar(&r.address, "address", "", "the instance's address, host:port, or a host with --port (required)")
	f.IntVar(&r.port, "port", 0, "the instance's port, when --address is a host")
	f.StringVar(&r.version, "version", "", "the instance's version")
	f.StringVar(&r.kind, "kind", "", "the instance's kind (default service)")
	f.Var(&r.tags, "tag", "a tag; repeat the flag or separate with commas")
	r.meta = mapFlag{}
	f.Var(r.meta, "meta", "a KEY=VALUE pair of metadata; repeat the flag for more")
	f.BoolVar(&r.check, "check", false, "add an HTTP check with the defaults (GET http://ADDRESS/alive every 10s)")
	f.StringVar(&r.HTTP, "check-http", "", "an HTTP check of this URL (implies --check)")
	f.StringVar(&r.Interval, "check-interval", "", "the HTTP check's interval, such as 10s")
	f.StringVar(&r.Timeout, "check-timeout", "", "the HTTP check's timeout, such as 2s")
	f.IntVar(&r.FailuresBeforeCritical, "check-failures", 0, "failures in a row before the instance turns critical")
	f.IntVar(&r.SuccessesBeforePassing, "check-successes", 0, "successes in a row before it turns passing again")
	f.StringVar(&r.TTL, "check-ttl", "", "a TTL check instead: the instance must send heartbeats (custodes heartbeat ID) this often")
	f.StringVar(&r.DeregisterAfter, "check-deregister-after", "", "remove the instance after it has been critical this long")
	f.StringVar(&r.rectify, "rectify", "", "a webhook URL the leader calls when the instance turns critical")
	f.StringVar(&r.file, "f", "", "register the JSON body in this file instead (- for stdin); the other flags are then not used")
}

// body builds the registration from the flags, or a usage error naming
// what is missing.
func (r *registerFlags) body(f *cmdFlags) (*registerBody, error) {
	if r.name == "" || r.address == "" {
		return nil, f.usagef("--name and --address are required (or -f FILE)")
	}
	addr := r.address
	if r.port != 0 {
		if r.port < 1 || r.port > 65535 {
			return nil, f.usagef("--port %d: a port is from 1 to 65535", r.port)
		}
		if _, _, err := net.SplitHostPort(addr); err == nil {
			return nil, f.usagef("--address %q has a port already; drop --port", addr)
		}
		addr = net.JoinHostPort(addr, strconv.Itoa(r.port))
	}
	b := &registerBody{Name: r.name, Address: addr, Version: r.version, Kind: r.kind, Tags: r.tags}
	if len(r.meta) > 0 {
		b.Meta = r.meta
	}
	if r.check || r.checkBody != (checkBody{}) {
		cb := r.checkBody
		b.Check = &cb
	}
	if r.rectify != "" {
		b.Rectify = &struct {
			URL string `json:"url"`
		}{URL: r.rectify}
	}
	return b, nil
}

func runRegister(inv *invocation, args []string) error {
	f := inv.newFlags("register", "--name NAME --address HOST:PORT [flags] | -f FILE",
		"Register a service instance (again: the same name and address update it). Prints its id.")
	var r registerFlags
	r.bind(f)
	if _, err := f.operands(args, 0, 0); err != nil {
		return err
	}
	var body []byte
	if r.file != "" {
		var err error
		if body, err = readSmall(inv, r.file); err != nil {
			return err
		}
	} else {
		b, err := r.body(f)
		if err != nil {
			return err
		}
		if body, err = json.Marshal(b); err != nil {
			return err
		}
	}
	c, err := f.client(inv)
	if err != nil {
		return err
	}
	raw, _, _, err := c.call(inv.ctx, request{method: http.MethodPost, path: "/register", json: body})
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(inv.stdout, raw)
	}
	var res struct {
		ID     string `json:"id"`
		Change string `json:"change"`
		Index  uint64 `json:"index"`
	}
	if err := decode(raw, &res, "/register"); err != nil {
		return err
	}
	fmt.Fprintln(inv.stdout, res.ID)
	fmt.Fprintf(inv.stderr, "%s (index %d)\n", res.Change, res.Index)
	return nil
}

// readSmall reads a JSON body from a file or stdin ("-"), at most 1 MiB
// (the API's own limit).
func readSmall(inv *invocation, name string) ([]byte, error) {
	var r io.Reader = inv.stdin
	if name != "-" {
		fh, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		r = fh
	}
	b, err := io.ReadAll(io.LimitReader(r, 1<<20+1))
	if err != nil {
		return nil, err
	}
	if len(b) > 1<<20 {
		return nil, fmt.Errorf("%s: over the API's 1 MiB limit", name)
	}
	return b, nil
}

func runDeregister(inv *invocation, args []string) error {
	f := inv.newFlags("deregister", "[flags] ID", "Remove the service instance with this id.")
	ops, err := f.operands(args, 1, 1)
	if err != nil {
		return err
	}
	var res struct {
		Index uint64 `json:"index"`
	}
	if done, err := f.send(inv, http.MethodDelete, "/instance/"+ops[0], nil, nil, &res); done || err != nil {
		return err
	}
	fmt.Fprintf(inv.stdout, "deregistered %s (index %d)\n", ops[0], res.Index)
	return nil
}

func runHeartbeat(inv *invocation, args []string) error {
	f := inv.newFlags("heartbeat", "[flags] ID", "Renew the TTL check of the instance with this id.")
	ops, err := f.operands(args, 1, 1)
	if err != nil {
		return err
	}
	var res struct {
		Status string `json:"status"`
	}
	if done, err := f.send(inv, http.MethodPut, "/instance/"+ops[0]+"/heartbeat", nil, nil, &res); done || err != nil {
		return err
	}
	fmt.Fprintf(inv.stdout, "%s %s\n", ops[0], res.Status)
	return nil
}
