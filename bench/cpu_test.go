package bench

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// A command name with a space and a ')' must not shift the fields:
	// utime 250 and stime 50 ticks are 3s at USER_HZ 100.
	line := "4242 (cust odes) x) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 50 0 0 20 0 9 0 100 0 0\n"
	d, err := parseStatCPU(line)
	if err != nil || d != 3*time.Second {
		t.Fatalf("parseStatCPU = %v, %v; want 3s", d, err)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 ten 5"} {
		if _, err := parseStatCPU(bad); err == nil {
			t.Errorf("parseStatCPU(%q) succeeded", bad)
		}
	}
}

func TestWithCPUCountsThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	// This process stands in for an agent: spinning for longer than a few
	// ticks must show on both sides, and be divided by the operations.
	spin := func() Result {
		x := 0
		for start := time.Now(); time.Since(start) < 200*time.Millisecond; {
			x++
		}
		_ = x
		return Result{Ops: 10}
	}
	r := WithCPU([]int{0}, spin)
	if !r.CPUKnown || r.AgentCPU < 50*time.Millisecond || r.SelfCPU < 50*time.Millisecond {
		t.Fatalf("spinning 200ms measured agents %v, self %v (known %v)", r.AgentCPU, r.SelfCPU, r.CPUKnown)
	}
	if per, ok := r.AgentCPUPerOp(); !ok || per != r.AgentCPU/10 {
		t.Fatalf("per op %v %v, want %v", per, ok, r.AgentCPU/10)
	}
	if r := WithCPU([]int{1 << 30}, spin); r.CPUKnown {
		t.Fatal("a missing process gave CPU figures")
	}
	if !strings.Contains(Table([]Result{{Op: "register", Ops: 1}}), "| – | – |") {
		t.Fatal("a run without CPU figures does not show –")
	}
}
