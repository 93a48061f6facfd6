package output

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"tlmon/model"
)

// snap is a snapshot at elapsed with one syscall (getppid, nr 110) made calls
// times by process 7 and openat failing errs times with ENOENT in process 8,
// both timed into their histograms' bucket of 1µs.
func snap(elapsed time.Duration, calls, errs uint64) *model.Snapshot {
	hist := func(n uint64) *model.Hist {
		var h model.Hist
		h[model.HistBucket(1000)] = n
		return &h
	}
	get := model.SyscallStat{Nr: 110, Name: "getppid", Counts: model.Counts{Calls: calls, LatSumNs: 1000 * calls, LatCount: calls}, Hist: hist(calls)}
	open := model.SyscallStat{Nr: 257, Name: "openat", Counts: model.Counts{Calls: errs, Errors: errs, LatSumNs: 1000 * errs, LatCount: errs},
		Errnos: []model.ErrnoCount{{Errno: 2, Name: "ENOENT", Count: errs}}, Hist: hist(errs)}
	for _, sc := range []*model.SyscallStat{&get, &open} {
		sc.AvgNs, sc.P50Ns, sc.P95Ns, sc.P99Ns = 1000, sc.Hist.Quantile(0.5), sc.Hist.Quantile(0.95), sc.Hist.Quantile(0.99)
	}
	return &model.Snapshot{
		At: time.Unix(0, 0).Add(elapsed), Interval: time.Millisecond, Elapsed: elapsed,
		Totals:   model.SyscallTotals{Counts: model.Counts{Calls: calls + errs, Errors: errs}},
		Syscalls: []model.SyscallStat{get, open},
		Processes: []model.ProcStat{
			{ID: model.ProcID{PID: 7}, Comm: "a", Alive: true, Counts: get.Counts, Syscalls: []model.SyscallStat{get}},
			{ID: model.ProcID{PID: 8}, Comm: "b", Alive: true, Counts: open.Counts, Syscalls: []model.SyscallStat{open}},
		},
	}
}

type jsonLine struct {
	SinceStart bool    `json:"since_start"`
	IntervalS  float64 `json:"interval_s"`
	LeftOut    int     `json:"processes_left_out"`
	Totals     struct {
		Calls, Errors uint64
	} `json:"totals"`
	Syscalls []struct {
		Name          string
		Calls, Errors uint64
		Errno         map[string]uint64
		P50           *uint64 `json:"p50_ns"`
	} `json:"syscalls"`
	Processes []struct {
		PID           uint32
		Calls, Errors uint64
	} `json:"processes"`
}

// ticks says a snapshot was published every d until ctx ends, as the
// aggregator would at each read.
func ticks(ctx context.Context, d time.Duration) <-chan struct{} {
	c := make(chan struct{})
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				select {
				case c <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return c
}

// TestFollowPrintsEachIntervalsOwnCounts: with -i, each JSON line carries its
// interval's own calls and errors (system-wide, per syscall with its errnos,
// per process) and says so; the first comes after a full interval, not at the
// first read; the final summary stays since the start.
func TestFollowPrintsEachIntervalsOwnCounts(t *testing.T) {
	const interval = 40 * time.Millisecond
	snaps := []*model.Snapshot{snap(2*time.Millisecond, 3, 1), snap(42*time.Millisecond, 100, 10), snap(82*time.Millisecond, 250, 15)}
	i := 0
	next := func() *model.Snapshot {
		s := snaps[min(i, len(snaps)-1)]
		i++
		return s
	}
	var b bytes.Buffer
	h := Headless{Out: &b, Output: FormatJSON}
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	if err := h.Follow(ctx, interval, next, ticks(ctx, interval/10)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want one per full interval (2):\n%s", len(lines), b.String())
	}
	for n, want := range []struct {
		calls, errs uint64
		window      float64
	}{{100, 10, 0.042}, {150, 5, 0.040}} {
		var r jsonLine
		if err := json.Unmarshal([]byte(lines[n]), &r); err != nil {
			t.Fatal(err)
		}
		if r.SinceStart || r.IntervalS != want.window {
			t.Errorf("line %d: since_start %v, interval_s %v; want false, %v", n+1, r.SinceStart, r.IntervalS, want.window)
		}
		if r.Totals.Calls != want.calls+want.errs || r.Totals.Errors != want.errs {
			t.Errorf("line %d: totals %+v, want %d calls, %d errors", n+1, r.Totals, want.calls+want.errs, want.errs)
		}
		if len(r.Syscalls) != 2 || r.Syscalls[0].Calls != want.calls || r.Syscalls[1].Errno["ENOENT"] != want.errs || r.Syscalls[1].P50 == nil || *r.Syscalls[1].P50 == 0 {
			t.Errorf("line %d: syscalls %+v, want getppid %d, openat ENOENT %d with a p50", n+1, r.Syscalls, want.calls, want.errs)
		}
		if len(r.Processes) != 2 || r.Processes[0].Calls != want.calls || r.Processes[1].Errors != want.errs {
			t.Errorf("line %d: processes %+v", n+1, r.Processes)
		}
	}
	b.Reset()
	if err := h.Write(snaps[2]); err != nil {
		t.Fatal(err)
	}
	var r jsonLine
	if err := json.Unmarshal(b.Bytes(), &r); err != nil || !r.SinceStart || r.IntervalS != 0 || r.Totals.Calls != 265 {
		t.Errorf("final summary %+v (%v): want since_start, the totals since the start", r, err)
	}
}

// TestFollowSinceStartKeepsTotals: with SinceStart (--since-start), each
// line carries the counts since the start, as the soak's invariant reads them.
func TestFollowSinceStartKeepsTotals(t *testing.T) {
	snaps := []*model.Snapshot{snap(2*time.Millisecond, 3, 1), snap(42*time.Millisecond, 100, 10), snap(82*time.Millisecond, 250, 15)}
	i := 0
	next := func() *model.Snapshot {
		s := snaps[min(i, len(snaps)-1)]
		i++
		return s
	}
	var b bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	if err := (Headless{Out: &b, Output: FormatJSON, SinceStart: true}).Follow(ctx, 40*time.Millisecond, next, ticks(ctx, 4*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	var totals []uint64
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var r jsonLine
		if err := json.Unmarshal([]byte(line), &r); err != nil || !r.SinceStart {
			t.Fatalf("%v, since_start %v: %s", err, r.SinceStart, line)
		}
		totals = append(totals, r.Totals.Calls)
	}
	if !slices.Equal(totals, []uint64{110, 265}) {
		t.Errorf("totals %v, want the counts since the start [110 265]", totals)
	}
}

// TestIntervalCountsRetiredCallsOfTheIntervalOnly: a process that retires
// during an interval adds to the interval's retired calls only those it made
// in the interval, so processes + retired still add up to the totals.
func TestIntervalCountsRetiredCallsOfTheIntervalOnly(t *testing.T) {
	prev, cur := snap(time.Second, 100, 10), snap(2*time.Second, 250, 15)
	gone := cur.Processes[1] // process 8: 15 calls in all, 10 before
	cur.Processes = cur.Processes[:1]
	cur.Retired = model.RetiredStats{Processes: 1, Calls: gone.Calls, Errors: gone.Errors}
	d := Interval(prev, cur)
	if d.Retired.Calls != 5 || d.Retired.Errors != 5 || d.Retired.Processes != 1 {
		t.Errorf("retired %+v, want the 5 calls and errors process 8 made in the interval", d.Retired)
	}
	var sum uint64
	for _, p := range d.Processes {
		sum += p.Calls
	}
	if sum+d.Retired.Calls != d.Totals.Calls || d.Elapsed != time.Second {
		t.Errorf("processes %d + retired %d != totals %d (elapsed %v)", sum, d.Retired.Calls, d.Totals.Calls, d.Elapsed)
	}
}

// TestTopAppliesToEveryFormat: --top keeps the busiest N processes by calls
// in JSON and CSV as in the table; 0 keeps all.
func TestTopAppliesToEveryFormat(t *testing.T) {
	s := &model.Snapshot{}
	for pid, calls := range []uint64{3, 9, 1, 7, 5} {
		sc := model.SyscallStat{Nr: 110, Name: "getppid", Counts: model.Counts{Calls: calls}}
		s.Processes = append(s.Processes, model.ProcStat{ID: model.ProcID{PID: uint32(pid + 1)}, Counts: sc.Counts, Syscalls: []model.SyscallStat{sc}})
	}
	for _, c := range []struct {
		top  int
		pids []uint32
	}{{2, []uint32{2, 4}}, {0, []uint32{2, 4, 5, 1, 3}}} {
		var b bytes.Buffer
		if err := (Headless{Out: &b, Output: FormatJSON, TopProcs: c.top}).Write(s); err != nil {
			t.Fatal(err)
		}
		var r jsonLine
		if err := json.Unmarshal(b.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		var got []uint32
		for _, p := range r.Processes {
			got = append(got, p.PID)
		}
		if !equal(got, c.pids) || r.LeftOut != 5-len(c.pids) {
			t.Errorf("JSON --top %d: pids %v (%d left out), want %v", c.top, got, r.LeftOut, c.pids)
		}
		b.Reset()
		if err := (Headless{Out: &b, Output: FormatCSV, TopProcs: c.top}).Write(s); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, row := range rows[1:] {
			got = append(got, uint32(row[0][0]-'0'))
		}
		if !equal(got, c.pids) {
			t.Errorf("CSV --top %d: pids %v, want %v", c.top, got, c.pids)
		}
	}
}

func equal(a, b []uint32) bool { return slices.Equal(a, b) }

// TestCSVHasP95: the CSV has p50, p95 and p99 columns.
func TestCSVHasP95(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, snap(time.Second, 10, 0)); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for i, h := range rows[0] {
		if h == "p95_ns" {
			col = i
		}
	}
	if col < 0 || rows[0][col-1] != "p50_ns" || rows[0][col+1] != "p99_ns" || rows[1][col] == "" || rows[1][col] == "0" {
		t.Errorf("no p95_ns column between p50 and p99 with a value: %v", rows)
	}
}
