package cluster_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/custodes/custodes/agent/agenttest"
)

// regInput is one client operation on a service name: add an address, or
// read the set of addresses (a linearizable lookup through any agent).
type regInput struct {
	Key  string
	Add  string // empty for a read
	Read bool
}

// regOutput is a read's answer (the sorted addresses).
type regOutput struct {
	Addrs string
}

// registryModel: each service name is a set of addresses; an add puts one
// in, a read must see exactly the set.
var registryModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(regInput).Key
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range byKey {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(regInput)
		s := state.(string)
		if in.Read {
			return output.(regOutput).Addrs == s, s
		}
		set := []string{}
		if s != "" {
			set = strings.Split(s, ",")
		}
		if !slices.Contains(set, in.Add) {
			set = append(set, in.Add)
			slices.Sort(set)
		}
		return true, strings.Join(set, ",")
	},
	Equal: func(a, b any) bool { return a == b },
	Hash: func(state any) uint64 {
		h := fnv.New64a()
		h.Write([]byte(state.(string)))
		return h.Sum64()
	},
	DescribeOperation: func(input, output any) string {
		in := input.(regInput)
		if in.Read {
			return fmt.Sprintf("read(%s) -> %s", in.Key, output.(regOutput).Addrs)
		}
		return fmt.Sprintf("add(%s, %s)", in.Key, in.Add)
	},
}

// TestLinearizableThroughFollowersUnderFailover records concurrent adds and
// default (linearizable) lookups through every agent while the leader is
// killed, and checks the history with porcupine.
func TestLinearizableThroughFollowersUnderFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("linearizability test skipped in -short mode")
	}
	c := startCluster(t, 3, agenttest.Options{})
	hc := &http.Client{Timeout: 3 * time.Second}
	start := time.Now()
	now := func() int64 { return int64(time.Since(start)) }
	urls := []string{c.URL(0), c.URL(1), c.URL(2)}
	keys := []string{"lin-a", "lin-b", "lin-c", "lin-d", "lin-e", "lin-f", "lin-g", "lin-h"}

	var (
		mu      sync.Mutex
		history []porcupine.Operation
		wg      sync.WaitGroup
	)
	record := func(op porcupine.Operation) {
		mu.Lock()
		history = append(history, op)
		mu.Unlock()
	}
	const perClient = 60
	for cl := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perClient {
				url := urls[(cl+i)%len(urls)]
				key := keys[(i/2+cl)%len(keys)]
				if (cl+i)%2 == 0 {
					addr := fmt.Sprintf("10.%d.%d.1:80", cl, i)
					body, _ := json.Marshal(map[string]string{"name": key, "address": addr})
					call := now()
					resp, err := hc.Post(url+"/register", "application/json", bytes.NewReader(body))
					ret := now()
					ok := err == nil && resp.StatusCode == http.StatusCreated
					if err == nil {
						resp.Body.Close()
					}
					if !ok {
						ret = math.MaxInt64 // outcome unknown: it may take effect at any later time
					}
					record(porcupine.Operation{ClientId: cl, Input: regInput{Key: key, Add: addr}, Call: call, Output: regOutput{}, Return: ret})
					continue
				}
				call := now()
				resp, err := hc.Get(url + "/service/" + key)
				if err != nil {
					continue // a failed read has no effect to check
				}
				var body struct {
					Instances []struct {
						Address string `json:"address"`
					} `json:"instances"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				ret := now()
				if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
					continue
				}
				var addrs []string
				for _, in := range body.Instances {
					addrs = append(addrs, in.Address)
				}
				slices.Sort(addrs)
				record(porcupine.Operation{ClientId: cl, Input: regInput{Key: key, Read: true}, Call: call, Output: regOutput{Addrs: strings.Join(addrs, ",")}, Return: ret})
			}
		}()
	}
	waitFor(t, "some operations before the kill", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(history) >= 40
	})
	c.Kill(c.Leader())
	wg.Wait()

	res := porcupine.CheckOperationsTimeout(registryModel, history, 30*time.Second)
	if res == porcupine.Illegal {
		t.Fatalf("history of %d operations is not linearizable", len(history))
	}
	if res == porcupine.Unknown {
		t.Fatalf("linearizability check of %d operations timed out", len(history))
	}
	t.Logf("%d operations, linearizable", len(history))
}

// TestRegistryModelRejectsStaleRead guards the checker itself: a read that
// misses an add which completed before it began must be illegal.
func TestRegistryModelRejectsStaleRead(t *testing.T) {
	ops := []porcupine.Operation{
		{ClientId: 0, Input: regInput{Key: "k", Add: "a:1"}, Call: 0, Output: regOutput{}, Return: 10},
		{ClientId: 1, Input: regInput{Key: "k", Read: true}, Call: 20, Output: regOutput{Addrs: ""}, Return: 30},
	}
	if porcupine.CheckOperations(registryModel, ops) {
		t.Fatal("a stale read was accepted as linearizable")
	}
	ops[1].Output = regOutput{Addrs: "a:1"}
	if !porcupine.CheckOperations(registryModel, ops) {
		t.Fatal("a fresh read was rejected")
	}
}
