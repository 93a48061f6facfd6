package e2e

// Storms: what a machine in trouble throws at tlmon, each checked for
// exactness, counted losses and bounded memory. `make storms` runs them at the
// sizes docs/reliability.md reports (TLMON_STORM_SCALE=1); `make test` at a
// quarter of them.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tlmon/internal/bpftest"
)

// stormScale multiplies every storm's size and length.
func stormScale(t *testing.T) float64 {
	s := os.Getenv("TLMON_STORM_SCALE")
	if s == "" {
		return 0.25
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		t.Fatalf("TLMON_STORM_SCALE=%q: want a positive number", s)
	}
	return f
}

// rssMB reads a process's resident and peak resident memory, in MB.
func rssMB(pid int) (rss, hwm float64) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}

// stormTlmon is a headless system-wide tlmon whose memory is sampled.
type stormTlmon struct {
	*tlmonRun
	mu      sync.Mutex
	samples []float64 // RSS, MB, once a second
	stop    chan struct{}
}

func startStormTlmon(t *testing.T, args ...string) *stormTlmon {
	t.Helper()
	s := &stormTlmon{tlmonRun: startTlmon(t, append([]string{"--headless", "-o", "json"}, args...)...), stop: make(chan struct{})}
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
				rss, _ := rssMB(s.cmd.Process.Pid)
				s.mu.Lock()
				s.samples = append(s.samples, rss)
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// finish stops tlmon and returns its report and its peak RSS.
func (s *stormTlmon) finish(t *testing.T) (report, float64) {
	t.Helper()
	close(s.stop)
	_, hwm := rssMB(s.cmd.Process.Pid)
	s.cmd.Process.Signal(os.Interrupt)
	io.Copy(io.Discard, s.stderr)
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("tlmon: %v\n%s", err, s.errAll.String())
	}
	var rep report
	if err := json.Unmarshal(s.stdout.Bytes(), &rep); err != nil {
		t.Fatalf("tlmon output is not JSON: %v", err)
	}
	return rep, hwm
}

// growth is how much RSS grew from the first third of the samples to the end.
func (s *stormTlmon) growth() (first, last float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) < 3 {
		return 0, 0
	}
	return s.samples[len(s.samples)/3], s.samples[len(s.samples)-1]
}

// TestStormGetppidFlatOut: two threads make getppid as fast as they can for
// 60 s, the whole machine watched: every call counted, nothing lost, tlmon's
// memory flat.
func TestStormGetppidFlatOut(t *testing.T) {
	bpftest.Require(t)
	length := time.Duration(stormScale(t) * float64(time.Minute))
	tl := startStormTlmon(t)
	want := map[uint32]uint64{}
	for end := time.Now().Add(length); time.Now().Before(end); {
		// Alive to the end: an exited process may be retired into totals
		// before the report when the machine churns.
		w := startWorkload(t, "--hold", "10m", "threads", "4000000")
		var r workloadReport
		w.goAhead(t, &r)
		want[w.pid] = r.Calls["getppid"]
	}
	rep, hwm := tl.finish(t)
	var total uint64
	for pid, n := range want {
		p, ok := rep.proc(pid)
		if got := p.syscall("getppid").Calls; !ok || got != n {
			t.Errorf("workload %d: getppid counted %d, want %d", pid, got, n)
		}
		total += n
	}
	if rep.Lost.Total != 0 {
		t.Errorf("lost %d", rep.Lost.Total)
	}
	first, last := tl.growth()
	if last-first > 4 {
		t.Errorf("RSS grew from %.1f MB to %.1f MB after the first third", first, last)
	}
	t.Logf("%s: %d getppid in %d runs of 2 threads, all counted; lost 0; RSS %.1f → %.1f MB, peak %.1f MB", length, total, len(want), first, last, hwm)
}

// TestStormShortProcesses: 50,000 short processes in about 30 s, then a fork
// chain 1,000 deep: every process named (none a placeholder, no attribution
// miss), nothing lost, no map full, memory bounded.
func TestStormShortProcesses(t *testing.T) {
	bpftest.Require(t)
	n, depth := int(50_000*stormScale(t)), int(1_000*stormScale(t))
	tl := startStormTlmon(t, "--classes", "none")
	start := time.Now()
	w := startWorkload(t, "--procs", "2", "spawn", strconv.Itoa(n))
	w.run(t)
	took := time.Since(start)
	// Each shell starts the next and waits for it (the ':' keeps the shell
	// from becoming its child): depth processes alive at once, one below the
	// other. (dash stops a shell function's recursion at 1,000.)
	const link = `if [ "$1" -gt 0 ]; then /bin/sh -c "$0" "$0" $(($1 - 1)); fi; :`
	if out, err := exec.Command("/bin/sh", "-c", link, link, strconv.Itoa(depth)).CombinedOutput(); err != nil {
		t.Fatalf("fork chain: %v %s", err, out)
	}
	rep, hwm := tl.finish(t)
	exited := rep.Retired.Processes
	for _, p := range rep.Procs {
		if p.Placeholder {
			t.Errorf("process %d (%q) has no name", p.PID, p.Comm)
		}
		if !p.Alive {
			exited++
		}
	}
	if exited < uint64(n+depth) {
		t.Errorf("%d processes exited, want at least %d", exited, n+depth)
	}
	if l := rep.Lost; l.Total != 0 || l.AttributionMisses != 0 || l.ProcMapFull != 0 || l.HistMapFull != 0 {
		t.Errorf("lost %+v", l)
	}
	if hwm > 100 {
		t.Errorf("tlmon's RSS peaked at %.1f MB", hwm)
	}
	t.Logf("%d processes in %s and a fork chain %d deep: %d exits seen, all named; lost 0; peak RSS %.1f MB", n, took.Round(time.Second), depth, exited, hwm)
}

// TestStormEveryDetailClass: every detail class on, the whole machine watched,
// a loop of opens, failing opens and getppid in two threads: each event the
// kernel tried to send is received or counted lost, exactly, and the counts
// stay exact whatever the events' fate.
func TestStormEveryDetailClass(t *testing.T) {
	bpftest.Require(t)
	tl := startStormTlmon(t, "--classes", "all")
	length := time.Duration(stormScale(t) * float64(40*time.Second))
	var runs int
	want := map[uint32]workloadReport{}
	for end := time.Now().Add(length); time.Now().Before(end); runs++ {
		w := startWorkload(t, "--hold", "10m", "mix2", "200000")
		var r workloadReport
		w.goAhead(t, &r)
		want[w.pid] = r
	}
	rep, hwm := tl.finish(t)
	l := rep.Lost
	if l.EventsAttempted != l.EventsReceived+l.Buffer+l.LifecycleBuffer {
		t.Errorf("%d events attempted, %d received + %d lost (detail) + %d lost (lifecycle) = %d",
			l.EventsAttempted, l.EventsReceived, l.Buffer, l.LifecycleBuffer, l.EventsReceived+l.Buffer+l.LifecycleBuffer)
	}
	// Watched from its birth, a workload's start-up opens files too: its
	// getppid, which only its measured loop makes, are counted exactly.
	for pid, w := range want {
		p, _ := rep.proc(pid)
		if got, n := p.syscall("getppid").Calls, w.Calls["getppid"]; got != n {
			t.Errorf("workload %d: getppid counted %d, want %d", pid, got, n)
		}
	}
	t.Logf("%s of every detail class in %d runs: %d events attempted, %d received, %d detail and %d lifecycle lost; counts exact; peak RSS %.1f MB",
		length, runs, l.EventsAttempted, l.EventsReceived, l.Buffer, l.LifecycleBuffer, hwm)
}
