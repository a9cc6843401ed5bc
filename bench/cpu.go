package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ClockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat
// (what sysconf(_SC_CLK_TCK) returns). Linux fixes it at 100 for user
// space on every architecture whatever the kernel's own HZ, and Go cannot
// call sysconf without cgo, so it is a constant. It makes the readings
// 10ms-grained per process: over a run of seconds the error is a few
// hundredths of the total.
const ClockTicks = 100

// ProcessCPU is the CPU time (user + system, all threads) that process
// pid has used so far; pid 0 means this process (/proc/self/stat).
func ProcessCPU(pid int) (time.Duration, error) {
	path := "/proc/self/stat"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime, fields 14 and 15 of a
// /proc/PID/stat line (proc(5)). The command name (field 2) is in
// parentheses and may itself hold spaces and ')', so counting starts after
// the last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat %.40q: no command name", stat)
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, fmt.Errorf("stat %.40q: %d fields after the name, want at least 13", stat, len(f))
	}
	var ticks int64
	for _, s := range f[14-3 : 15-3+1] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("stat: bad tick count %q", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / ClockTicks, nil
}

// cpuSample is the CPU time of the agents (summed) and of this process at
// one moment.
type cpuSample struct {
	agents, self time.Duration
}

func sampleCPU(pids []int) (cpuSample, error) {
	var s cpuSample
	for _, pid := range pids {
		d, err := ProcessCPU(pid)
		if err != nil {
			return s, fmt.Errorf("agent pid %d: %w", pid, err)
		}
		s.agents += d
	}
	d, err := ProcessCPU(0)
	s.self = d
	return s, err
}

// WithCPU runs f and records in its result the CPU time the agents (pids)
// and this process used meanwhile. A reading that fails (an agent that
// exited, no /proc) leaves CPUKnown false rather than failing the run: the
// throughput and latency figures stand on their own.
func WithCPU(pids []int, f func() Result) Result {
	before, errBefore := sampleCPU(pids)
	r := f()
	after, errAfter := sampleCPU(pids)
	if len(pids) > 0 && errBefore == nil && errAfter == nil {
		r.AgentCPU, r.SelfCPU, r.CPUKnown = after.agents-before.agents, after.self-before.self, true
	}
	return r
}

// AgentCPUPerOp and SelfCPUPerOp divide the CPU time by the successful
// operations (failed ones cost CPU too, and are charged to the ones that
// succeeded); ok is false when there is nothing to show.
func (r Result) AgentCPUPerOp() (time.Duration, bool) { return perOp(r, r.AgentCPU) }
func (r Result) SelfCPUPerOp() (time.Duration, bool)  { return perOp(r, r.SelfCPU) }

func perOp(r Result, d time.Duration) (time.Duration, bool) {
	if !r.CPUKnown || r.Ops == 0 {
		return 0, false
	}
	return d / time.Duration(r.Ops), true
}

// cpuCell formats a per-operation CPU time in microseconds for the table.
func cpuCell(d time.Duration, ok bool) string {
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%.0f", float64(d)/float64(time.Microsecond))
}
