package output

import (
	"cmp"
	"slices"

	"tlmon/model"
)

// Interval is the report of one interval's own counts: cur minus prev (the
// snapshot the last interval report was made of; nil for the first, whose
// counts start at zero). Per syscall and per process, system-wide and in
// total: calls, errors, latency sums and samples, errnos, and the
// percentiles of the interval's own histogram (Hist stays cur's, since the
// start, or nil when the interval had no sample); the retired processes'
// calls made in the interval too. Elapsed is the interval's length. Rates, I/O, losses and the detail
// tables are cur's as they are. Rows with no call and no error in the
// interval are left out; the rest are sorted by calls again.
func Interval(prev, cur *model.Snapshot) *model.Snapshot {
	if prev == nil {
		return cur
	}
	d := *cur
	d.Elapsed = cur.Elapsed - prev.Elapsed
	d.Totals.Counts = cur.Totals.Counts.Since(prev.Totals.Counts)
	d.Retired.Processes -= min(prev.Retired.Processes, d.Retired.Processes)
	d.Retired.Calls -= min(prev.Retired.Calls, d.Retired.Calls)
	d.Retired.Errors -= min(prev.Retired.Errors, d.Retired.Errors)
	d.Syscalls = syscallDiff(prev.Syscalls, cur.Syscalls)
	before := make(map[model.ProcID]*model.ProcStat, len(prev.Processes))
	for i := range prev.Processes {
		before[prev.Processes[i].ID] = &prev.Processes[i]
	}
	d.Processes = make([]model.ProcStat, 0, len(cur.Processes))
	for _, p := range cur.Processes {
		if b := before[p.ID]; b != nil {
			p.Counts = p.Counts.Since(b.Counts)
			p.Syscalls = syscallDiff(b.Syscalls, p.Syscalls)
			delete(before, p.ID)
		}
		if p.Calls > 0 || p.Errors > 0 {
			d.Processes = append(d.Processes, p)
		}
	}
	// Those left in before retired during the interval: their calls before
	// it are in prev's processes, not in the interval's retired calls.
	for _, b := range before {
		d.Retired.Calls -= min(b.Calls, d.Retired.Calls)
		d.Retired.Errors -= min(b.Errors, d.Retired.Errors)
	}
	slices.SortStableFunc(d.Processes, func(a, b model.ProcStat) int { return cmp.Compare(b.Calls, a.Calls) })
	return &d
}

var intervalQuantiles = [3]float64{0.5, 0.95, 0.99}

// syscallDiff is cur's syscalls minus prev's, those with calls or errors in
// between, by calls (descending) then number.
func syscallDiff(prev, cur []model.SyscallStat) []model.SyscallStat {
	out := make([]model.SyscallStat, 0, len(cur))
	for _, sc := range cur {
		i := slices.IndexFunc(prev, func(p model.SyscallStat) bool { return p.Nr == sc.Nr })
		if i >= 0 {
			b := prev[i]
			sc.Counts = sc.Counts.Since(b.Counts)
			sc.Errnos = errnoDiff(b.Errnos, sc.Errnos)
			if sc.Hist != nil {
				// The interval's own histogram, on the stack: one per
				// syscall of every process would be megabytes each interval.
				h := *sc.Hist
				if b.Hist != nil {
					for j := range h {
						h[j] -= min(b.Hist[j], h[j])
					}
				}
				var q [3]uint64
				h.Quantiles(intervalQuantiles[:], q[:])
				sc.P50Ns, sc.P95Ns, sc.P99Ns = q[0], q[1], q[2]
				if h.Count() == 0 {
					sc.Hist = nil // no sample in the interval: no percentiles
				}
			}
		}
		if sc.Calls == 0 && sc.Errors == 0 {
			continue
		}
		sc.AvgNs = 0
		if sc.LatCount > 0 {
			sc.AvgNs = sc.LatSumNs / sc.LatCount
		}
		out = append(out, sc)
	}
	slices.SortStableFunc(out, func(a, b model.SyscallStat) int {
		return cmp.Or(cmp.Compare(b.Calls, a.Calls), cmp.Compare(a.Nr, b.Nr))
	})
	return out
}

// errnoDiff is cur's errno counts minus prev's, the non-zero ones, largest
// first.
func errnoDiff(prev, cur []model.ErrnoCount) []model.ErrnoCount {
	var out []model.ErrnoCount
	for _, e := range cur {
		for _, p := range prev {
			if p.Errno == e.Errno {
				e.Count -= min(p.Count, e.Count)
			}
		}
		if e.Count > 0 {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b model.ErrnoCount) int { return cmp.Compare(b.Count, a.Count) })
	return out
}

// busiest is the n processes of ps with the most calls (all for n 0), of
// those that made a call, and how many were left out.
func busiest(ps []model.ProcStat, n int) ([]model.ProcStat, int) {
	ps = active(ps)
	slices.SortStableFunc(ps, func(a, b model.ProcStat) int { return cmp.Compare(b.Calls, a.Calls) })
	if n <= 0 || len(ps) <= n {
		return ps, 0
	}
	return ps[:n], len(ps) - n
}
