package aggregator

import (
	"math/rand/v2"
	"testing"
	"time"

	"tlmon/model"
)

// TestPercentilesComeFromHistograms checks averages and percentiles, system-wide
// and per process, and zero percentiles without a histogram.
func TestPercentilesComeFromHistograms(t *testing.T) {
	a, clk := newAgg(t, Config{})
	withHist, without := pid(1), pid(2)
	a.AddProcess(model.ProcInfo{ID: withHist})
	a.AddProcess(model.ProcInfo{ID: without})
	d := newDelta().
		add(withHist, 0, model.Counts{Calls: 100, LatSumNs: 100 * 1000, LatCount: 100}).
		add(without, 0, model.Counts{Calls: 10, LatSumNs: 10 * 50, LatCount: 10})
	var h model.Hist
	h[model.HistBucket(1000)] = 100
	d.hists[model.ProcSyscall{Proc: withHist, Nr: 0}] = h
	a.HandleCounters(d.build(clk.Now(), time.Second))
	s := a.Snapshot()
	ps := findProc(s, withHist).Syscalls[0]
	if ps.AvgNs != 1000 || ps.P50Ns < 750 || ps.P50Ns > 1250 || ps.P99Ns < 750 || ps.P99Ns > 1250 || ps.Hist == nil {
		t.Errorf("with histogram: avg %d p50 %d p99 %d", ps.AvgNs, ps.P50Ns, ps.P99Ns)
	}
	ns := findProc(s, without).Syscalls[0]
	if ns.AvgNs != 50 || ns.P50Ns != 0 || ns.P99Ns != 0 || ns.Hist != nil {
		t.Errorf("without histogram: avg %d p50 %d p99 %d hist %v", ns.AvgNs, ns.P50Ns, ns.P99Ns, ns.Hist != nil)
	}
	sys := findSyscall(s.Syscalls, 0)
	if sys.AvgNs != (100*1000+10*50)/110 || sys.P50Ns < 750 || sys.P50Ns > 1250 {
		t.Errorf("system: avg %d p50 %d", sys.AvgNs, sys.P50Ns)
	}
}

// TestHistogramsAddUpAndSlabsStayBounded feeds one process histograms for a few
// of its many syscalls at a time and checks each syscall's histogram and
// percentiles against a plain sum, and that the slabs kept alive by the process
// hold at most twice the histograms it uses.
func TestHistogramsAddUpAndSlabsStayBounded(t *testing.T) {
	a, clk := newAgg(t, Config{})
	id := pid(5)
	a.AddProcess(model.ProcInfo{ID: id, Comm: "many"})
	const nsys = 40
	var want [nsys]model.Hist
	rng := rand.New(rand.NewPCG(11, 12))
	for call := range 300 {
		d := newDelta()
		// A window of syscalls that moves: old slabs keep a few histograms.
		for range 1 + rng.IntN(4) {
			nr := uint16((call/3 + rng.IntN(6)) % nsys)
			d.add(id, nr, model.Counts{Calls: 1, LatCount: 1, LatSumNs: 100})
			h := d.hists[model.ProcSyscall{Proc: id, Nr: nr}]
			b := rng.IntN(model.HistBuckets)
			h[b]++
			want[nr][b]++
			d.hists[model.ProcSyscall{Proc: id, Nr: nr}] = h
		}
		clk.Advance(time.Second)
		a.HandleCounters(d.build(clk.Now(), time.Second))

		p := findProc(a.Snapshot(), id)
		for nr := range want {
			st := findSyscall(p.Syscalls, nr)
			if want[nr].Count() == 0 {
				if st != nil && st.Hist != nil {
					t.Fatalf("call %d: syscall %d has a histogram, none sent", call, nr)
				}
				continue
			}
			if st == nil || st.Hist == nil || *st.Hist != want[nr] {
				t.Fatalf("call %d: syscall %d: histogram %v, want %v", call, nr, st, want[nr])
			}
			if st.P50Ns != want[nr].Quantile(0.5) || st.P95Ns != want[nr].Quantile(0.95) || st.P99Ns != want[nr].Quantile(0.99) {
				t.Fatalf("call %d: syscall %d: percentiles %d %d %d, want %d %d %d", call, nr, st.P50Ns, st.P95Ns, st.P99Ns,
					want[nr].Quantile(0.5), want[nr].Quantile(0.95), want[nr].Quantile(0.99))
			}
		}

		a.mu.Lock()
		pr := a.procs[id]
		live, held := 0, 0
		seen := map[*model.Hist]bool{}
		for i := range pr.sys {
			l := &pr.sys[i].lat
			if l.hist == nil {
				continue
			}
			live++
			if l.hist != &l.slab[l.at] {
				t.Fatalf("call %d: hist is not slab[at]", call)
			}
			if !seen[&l.slab[0]] {
				seen[&l.slab[0]] = true
				held += len(l.slab)
			}
		}
		a.mu.Unlock()
		if held > 2*live {
			t.Fatalf("call %d: slabs hold %d histograms for %d in use", call, held, live)
		}
	}
}
