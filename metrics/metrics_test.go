package metrics

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"tlmon/model"
)

var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// snap is a snapshot read d after a start, holding procs.
func snap(d time.Duration, procs ...model.ProcStat) *model.Snapshot {
	s := &model.Snapshot{At: start.Add(d), Elapsed: d, Processes: procs}
	for _, p := range procs {
		s.Totals.Add(p.Counts)
	}
	return s
}

// proc is a process whose only syscall is getppid (nr 110), called n times.
func proc(pid uint32, comm string, n uint64) model.ProcStat {
	c := model.Counts{Calls: n}
	return model.ProcStat{ID: model.ProcID{PID: pid, Start: 1}, Comm: comm, Alive: true, Counts: c,
		Syscalls: []model.SyscallStat{{Nr: 110, Name: "getppid", Counts: c}}}
}

// gather collects everything the collector serves, by family name.
func gather(t *testing.T, s func() *model.Snapshot, labels ...string) map[string]*dto.MetricFamily {
	t.Helper()
	var gs []*groups
	for _, l := range labels {
		g, err := newGroups(l, MaxGroups)
		if err != nil {
			t.Fatal(err)
		}
		gs = append(gs, g)
	}
	return gatherFrom(t, newCollector(s, "v1.2.3", gs))
}

func gatherFrom(t *testing.T, c prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		m[f.GetName()] = f
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				if strings.Contains(strings.ToLower(l.GetName()), "pid") {
					t.Errorf("%s has a label %s", f.GetName(), l.GetName())
				}
			}
		}
	}
	return m
}

// value is the counter or gauge of family name whose labels are labels
// ("name=value" pairs), and whether there is one.
func value(m map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := m[name]
	if f == nil {
		return 0, false
	}
next:
	for _, mt := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range mt.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			if have[k] != v {
				continue next
			}
		}
		switch {
		case mt.Counter != nil:
			return mt.Counter.GetValue(), true
		case mt.Gauge != nil:
			return mt.Gauge.GetValue(), true
		}
	}
	return 0, false
}

func TestSnapshotCountsAreServedAsCountersAndHistogramsInSeconds(t *testing.T) {
	var h model.Hist
	h[model.HistBucket(100)] += 2        // < 256ns
	h[model.HistBucket(300)] += 3        // < 1.024µs
	h[model.HistBucket(2_000_000_000)]++ // 2s: < 4.29s
	h[model.HistBuckets-1]++             // past 2^39ns: only +Inf
	s := snap(10*time.Second, proc(1, "a", 5), proc(2, "b", 2))
	s.Processes[1].Alive = false // exited
	s.Processes = append(s.Processes, model.ProcStat{ID: model.ProcID{PID: 3}, Comm: "?", Placeholder: true})
	s.Retired.Processes = 5
	s.Syscalls = []model.SyscallStat{
		{Nr: 257, Name: "openat", Classes: model.ClassFile | model.ClassDesc, Counts: model.Counts{Calls: 9, Errors: 4, LatSumNs: 2_000_001_500, LatCount: 7},
			Errnos: []model.ErrnoCount{{Errno: 2, Name: "ENOENT", Count: 3}, {Errno: 13, Name: "EACCES", Count: 1}}, Hist: &h},
		{Nr: 110, Name: "getppid", Classes: model.ClassProcess, Counts: model.Counts{Calls: 12345}},
	}
	s.Lost.ByCause[model.LossBuffer] = 4
	s.Lost.ProcOverflow = 1
	s.DetailEvents = 77
	m := gather(t, func() *model.Snapshot { return s })

	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"tlmon_syscalls_total", []string{"syscall=getppid", "class=process"}, 12345},
		{"tlmon_syscalls_total", []string{"syscall=openat", "class=file,desc"}, 9},
		{"tlmon_syscall_errors_total", []string{"syscall=openat", "errno=ENOENT"}, 3},
		{"tlmon_syscall_errors_total", []string{"syscall=openat", "errno=EACCES"}, 1},
		{"tlmon_lost_events_total", []string{"cause=buffer"}, 4},
		{"tlmon_lost_events_total", []string{"cause=return_missed"}, 0},
		{"tlmon_lost_events_total", []string{"cause=proc_overflow"}, 1},
		{"tlmon_detail_events_total", nil, 77},
		{"tlmon_processes_started_total", nil, 3 + 5},
		{"tlmon_processes_exited_total", nil, 1 + 5}, // the placeholder not yet
		{"tlmon_build_info", []string{"version=v1.2.3"}, 1},
	} {
		if got, ok := value(m, c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if f := m["tlmon_syscalls_total"]; f.GetType() != dto.MetricType_COUNTER {
		t.Errorf("tlmon_syscalls_total is a %v", f.GetType())
	}

	f := m["tlmon_syscall_duration_seconds"]
	if f == nil || f.GetType() != dto.MetricType_HISTOGRAM || len(f.GetMetric()) != 1 {
		t.Fatalf("one histogram, for openat only (getppid has none): %v", f)
	}
	hist := f.GetMetric()[0].GetHistogram()
	if hist.GetSampleCount() != 7 || hist.GetSampleSum() != 2.0000015 {
		t.Errorf("count %d sum %v, want 7 and 2.0000015", hist.GetSampleCount(), hist.GetSampleSum())
	}
	want := map[float64]uint64{256e-9: 2, 1.024e-6: 5, 4.096e-6: 5, 1.073741824: 5, 4.294967296: 6, 17.179869184: 6}
	if len(hist.GetBucket()) != 14 {
		t.Errorf("%d buckets, want 14 and +Inf", len(hist.GetBucket()))
	}
	for _, b := range hist.GetBucket() {
		if w, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != w {
			t.Errorf("le=%g: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), w)
		}
		delete(want, b.GetUpperBound())
	}
	if len(want) > 0 {
		t.Errorf("no buckets le=%v", want)
	}
}

func TestNoSnapshotYetServesOnlyTheBuildInfo(t *testing.T) {
	m := gather(t, func() *model.Snapshot { return nil }, LabelComm)
	if _, ok := value(m, "tlmon_build_info", "version=v1.2.3"); !ok || len(m) != 1 {
		t.Errorf("served %d families", len(m))
	}
}

func TestCommandCountersNeverGoDown(t *testing.T) {
	var cur *model.Snapshot
	g, _ := newGroups(LabelComm, MaxGroups)
	c := newCollector(func() *model.Snapshot { return cur }, "", []*groups{g})
	check := func(step string, want map[string]float64) {
		t.Helper()
		m := gatherFrom(t, c)
		for comm, n := range want {
			if got, _ := value(m, "tlmon_command_syscalls_total", "comm="+comm, "syscall=getppid"); got != n {
				t.Errorf("%s: comm %s has %v getppid, want %v", step, comm, got, n)
			}
		}
	}
	// Each step's snapshot, with its system-wide total, which only grows.
	step := func(d time.Duration, total uint64, procs ...model.ProcStat) *model.Snapshot {
		s := snap(d, procs...)
		s.Totals.Calls = total
		return s
	}
	cur = step(time.Second, 10, proc(1, "sh", 10))
	check("start", map[string]float64{"sh": 10})
	cur = step(2*time.Second, 15, proc(1, "make", 15)) // exec'd: the 5 new calls are make's
	check("after exec", map[string]float64{"sh": 10, "make": 5})
	cur = step(3*time.Second, 19, proc(2, "make", 4)) // 1 retired
	check("after retiring", map[string]float64{"sh": 10, "make": 9})
	// Folded between scrapes: the calls made just before retiring count.
	cur = step(4*time.Second, 28, proc(2, "make", 6), proc(3, "cc", 7))
	g.fold(cur)
	cur = step(9*time.Second, 28, proc(2, "make", 6))
	check("folded between scrapes", map[string]float64{"sh": 10, "make": 11, "cc": 7})
	// The monitor's c: counts start again from 0, at a new start.
	cur = &model.Snapshot{At: start.Add(11 * time.Second), Elapsed: time.Second,
		Processes: []model.ProcStat{proc(2, "make", 1)}}
	check("after clear", map[string]float64{"sh": 10, "make": 12, "cc": 7})
}

func TestCommandsAreBoundedAndEscaped(t *testing.T) {
	var procs []model.ProcStat
	total := 0.0
	for i := range 60 {
		p := proc(uint32(i+1), fmt.Sprintf("cmd%02d", i), uint64(100-i))
		p.CgroupPath = "/system.slice/" + strings.Repeat("x", 200) + fmt.Sprint(i) + ".service"
		procs = append(procs, p)
		total += float64(100 - i)
	}
	procs = append(procs, proc(61, "\x1b[31mevil\u202e\xff", 1), proc(62, "", 1))
	// Idle processes first, as when tlmon starts: they take no group.
	for i := range 100 {
		procs = append(procs, model.ProcStat{ID: model.ProcID{PID: uint32(1000 + i)}, Comm: fmt.Sprint("idle", i), Alive: true})
	}
	idle := snap(0, procs[62:]...)
	total += 2
	s := snap(time.Second, procs...)
	cur := idle
	var gs []*groups
	for _, l := range []string{LabelComm, LabelCgroup} {
		g, _ := newGroups(l, MaxGroups)
		gs = append(gs, g)
	}
	c := newCollector(func() *model.Snapshot { return cur }, "", gs)
	gatherFrom(t, c)
	cur = s
	m := gatherFrom(t, c)
	for _, name := range []string{"tlmon_command_syscalls_total", "tlmon_cgroup_syscalls_total"} {
		f := m[name]
		var sum float64
		seen := map[string]bool{}
		for _, mt := range f.GetMetric() {
			sum += mt.GetCounter().GetValue()
			v := mt.GetLabel()[0].GetValue()
			seen[v] = true
			if len(v) > maxLabelLen || !utf8.ValidString(v) || strings.ContainsAny(v, "\x1b\u202e") {
				t.Errorf("%s: label value %q", name, v)
			}
		}
		if sum != total || len(seen) != MaxGroups+1 || !seen[OtherGroup] {
			t.Errorf("%s: %d groups adding up to %v, want %d and %q adding up to %v", name, len(seen), sum, MaxGroups, OtherGroup, total)
		}
		if !seen[labelValue("cmd00")] && name == "tlmon_command_syscalls_total" {
			t.Errorf("the busiest command has no series of its own")
		}
	}
	if got, _ := value(m, "tlmon_command_syscalls_total", "comm=other", "syscall=getppid"); got != 50+49+48+47+46+45+44+43+42+41+2 {
		t.Errorf("other has %v calls: want the 10 least busy's and the last two's", got)
	}
}

func TestTheEndpointServesOpenMetricsAndCloses(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := snap(time.Second, proc(1, "a", 3))
	s.Syscalls = s.Processes[0].Syscalls
	srv, err := Serve(ln, Options{Snapshot: func() *model.Snapshot { return s }, Labels: []string{LabelComm}, Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Errorf("content type %q", ct)
	}
	for _, want := range []string{`tlmon_syscalls_total{class="",syscall="getppid"} 3`, `tlmon_command_syscalls_total{comm="a",syscall="getppid"} 3`, "process_cpu_seconds_total", "# EOF"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("no %s in\n%s", want, body)
		}
	}
	if err := srv.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/metrics"); err == nil {
		t.Error("still served after Close")
	}
}

func TestLabelsAreCheckedAndGivenOnce(t *testing.T) {
	for _, c := range []struct {
		labels []string
		ok     bool
	}{{[]string{"comm"}, true}, {[]string{"comm", "cgroup"}, true}, {[]string{"pid"}, false}, {[]string{"comm", "comm"}, false}} {
		if err := CheckLabels(c.labels); (err == nil) != c.ok {
			t.Errorf("%v: %v", c.labels, err)
		}
	}
}
