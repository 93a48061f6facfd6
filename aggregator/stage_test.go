package aggregator

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"tlmon/model"
)

// dump renders all of a snapshot: its JSON, and the histograms and errno
// breakdowns (including their order), which JSON leaves out or flattens.
func dump(t testing.TB, s *model.Snapshot) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	stats := func(list []model.SyscallStat) {
		for _, st := range list {
			b = append(b, '\n')
			b = strconv.AppendInt(b, int64(st.Nr), 10)
			for _, e := range st.Errnos {
				b = append(b, ' ')
				b = strconv.AppendInt(b, int64(e.Errno), 10)
				b = append(b, e.Name...)
				b = strconv.AppendUint(b, e.Count, 10)
			}
			if st.Hist != nil {
				b = append(b, " hist"...)
				for _, v := range st.Hist {
					b = append(b, ' ')
					b = strconv.AppendUint(b, v, 10)
				}
			}
		}
	}
	stats(s.Syscalls)
	for _, p := range s.Processes {
		b = append(b, "\nprocess "...)
		b = strconv.AppendUint(b, uint64(p.ID.PID), 10)
		stats(p.Syscalls)
	}
	return string(b)
}

// forceParallel makes a use n goroutines for every HandleCounters call.
func forceParallel(a *Aggregator, n int) {
	a.workers = make([]worker, n)
	a.parallelMin = 0
}

// randomRounds drives aggregators with the same random processes, events and
// deltas, calling check after every HandleCounters and Clear. The syscalls a
// process uses drift, so that its histograms change a few at a time.
func randomRounds(t *testing.T, seed uint64, rounds int, aggs []*Aggregator, clk *clock, check func(call int)) {
	rng := rand.New(rand.NewPCG(seed, 7))
	type tproc struct {
		id    model.ProcID
		base  int // its syscalls are base..base+spread
		gone  bool
		since int
	}
	var live []*tproc
	next := uint32(100)
	for call := 1; call <= rounds; call++ {
		for range rng.IntN(6) {
			next++
			p := &tproc{id: pid(next), base: rng.IntN(40), since: call}
			clk.Advance(time.Nanosecond) // distinct exit times: no ties in early retirement
			kind := rng.IntN(4)
			for _, a := range aggs {
				switch kind {
				case 0:
					a.AddProcess(model.ProcInfo{ID: p.id, Comm: "init", CgroupID: uint64(next % 5)})
				case 1:
					a.HandleEvent(event(model.EventFork, p.id, pid(1), "sh"))
				case 2:
					a.HandleEvent(event(model.EventExec, p.id, pid(1), "cat"))
				case 3: // unnamed: a placeholder
				}
			}
			live = append(live, p)
		}
		for _, p := range live {
			if !p.gone && rng.IntN(12) == 0 {
				p.gone = true
				clk.Advance(time.Nanosecond)
				for _, a := range aggs {
					a.HandleEvent(event(model.EventExit, p.id, pid(1), "x"))
				}
			}
		}
		d := newDelta()
		for _, p := range live {
			if p.gone && rng.IntN(3) != 0 || rng.IntN(4) == 0 {
				continue
			}
			if rng.IntN(10) == 0 {
				p.base = (p.base + 1) % 40
			}
			for range rng.IntN(12) {
				nr := uint16(p.base + rng.IntN(12))
				switch rng.IntN(60) {
				case 0:
					nr = uint16(400 + rng.IntN(100)) // unknown to the table
				case 1:
					nr = uint16(numNr + rng.IntN(10)) // out of range: ignored
				}
				calls := uint64(rng.IntN(30))
				errs := uint64(rng.IntN(int(calls) + 1))
				d.add(p.id, nr, model.Counts{Calls: calls, Errors: errs, LatSumNs: calls * uint64(rng.IntN(9000)), LatCount: calls})
				k := model.ProcSyscall{Proc: p.id, Nr: nr}
				if rng.IntN(5) != 0 {
					h := d.hists[k]
					for range rng.IntN(4) {
						b := rng.IntN(model.HistBuckets)
						if rng.IntN(4) == 0 {
							b = rng.IntN(3)
						}
						n := uint64(rng.IntN(50))
						if rng.IntN(300) == 0 {
							n = math.MaxUint64 / 4 // takes several staged bins
						}
						h[b] += n
					}
					d.hists[k] = h
				}
				for range rng.IntN(3) {
					e := uint16(rng.IntN(8))
					if rng.IntN(30) == 0 {
						e = uint16(600 + rng.IntN(5)) // no name
					}
					d.errnos[model.ProcErrno{Proc: p.id, Nr: nr, Errno: e}] += uint64(rng.IntN(4))
				}
			}
		}
		for range rng.IntN(3) {
			d.unattr[uint16(rng.IntN(20))] = model.Counts{Calls: uint64(rng.IntN(9)), Errors: 1}
		}
		d.lost[model.LossBuffer] = uint64(rng.IntN(2))
		clk.Advance(time.Duration(rng.IntN(1200)) * time.Millisecond)
		cd := d.build(clk.Now(), time.Duration(rng.IntN(3))*time.Second)
		// Out-of-range syscalls were left out of System by build (the arrays
		// end at numNr), as the kernel would.
		var first []model.ProcID
		for i, a := range aggs {
			r := slices.Clone(a.HandleCounters(cd))
			slices.SortFunc(r, func(x, y model.ProcID) int { return cmp3(x, y) })
			if i == 0 {
				first = r
			} else if !slices.Equal(first, r) {
				t.Fatalf("call %d: aggregator %d retired %v, aggregator 0 %v", call, i, r, first)
			}
		}
		check(call)
		kept := live[:0]
		for _, p := range live {
			if !p.gone || call-p.since < 12 {
				kept = append(kept, p)
			}
		}
		live = kept
		if call%53 == 0 {
			for _, a := range aggs {
				a.Clear()
			}
			check(call)
		}
	}
}

func cmp3(x, y model.ProcID) int {
	if x.PID != y.PID {
		return int(x.PID) - int(y.PID)
	}
	return int(x.Start) - int(y.Start)
}

// TestParallelBuildsTheSameSnapshots checks that HandleCounters on several
// goroutines gives exactly the snapshots of one goroutine, histograms and errno
// order included, under MaxProcs pressure too.
func TestParallelBuildsTheSameSnapshots(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxProcs int
		seed     uint64
	}{
		{"plenty of room", 10000, 1},
		{"tight MaxProcs", 60, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seq, clk := newAgg(t, Config{MaxProcs: tc.maxProcs, RetireAfter: 3 * time.Second, CgroupPath: func(id uint64) string { return fmt.Sprint("/cg/", id) }})
			par := New(seq.cfg)
			seq.parallelMin = math.MaxInt
			forceParallel(par, 3)
			randomRounds(t, tc.seed, 120, []*Aggregator{seq, par}, clk, func(call int) {
				checkInvariant(t, seq)
				checkInvariant(t, par)
				s, p := seq.Snapshot(), par.Snapshot()
				if call%10 != 0 && reflect.DeepEqual(s, p) {
					return
				}
				if ds, dp := dump(t, s), dump(t, p); ds != dp || !reflect.DeepEqual(s, p) {
					t.Fatalf("call %d: one goroutine:\n%s\nthree:\n%s", call, ds, dp)
				}
			})
		})
	}
}

// TestSnapshotsNeverChangeOverManyRounds keeps every snapshot of a long random
// run, histograms and errno breakdowns included, and checks at the end that
// none changed: later calls copy what they change (histograms, errno lists,
// syscall lists), even when they move histograms to new slabs.
func TestSnapshotsNeverChangeOverManyRounds(t *testing.T) {
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprint(workers, " goroutines"), func(t *testing.T) {
			a, clk := newAgg(t, Config{RetireAfter: 2 * time.Second})
			if workers > 1 {
				forceParallel(a, workers)
			} else {
				a.parallelMin = math.MaxInt
			}
			var kept []*model.Snapshot
			var dumps []string
			randomRounds(t, 3, 100, []*Aggregator{a}, clk, func(call int) {
				if call%3 == 0 {
					s := a.Snapshot()
					kept, dumps = append(kept, s), append(dumps, dump(t, s))
				}
			})
			for i, s := range kept {
				if got := dump(t, s); got != dumps[i] {
					t.Fatalf("snapshot %d changed:\n%s\n%s", i, dumps[i], got)
				}
			}
		})
	}
}

// TestPanicOnAWorkerReachesTheCaller checks that a panic on one of the
// goroutines of HandleCounters is raised on the calling goroutine, after all
// of them stopped, so that the caller can recover it.
func TestPanicOnAWorkerReachesTheCaller(t *testing.T) {
	a := New(Config{Table: amd64(t)})
	forceParallel(a, 3)
	done := make([]bool, 3)
	defer func() {
		if v := recover(); v != "worker 2" {
			t.Errorf("recovered %v, want worker 2", v)
		}
		if !done[0] || !done[1] {
			t.Errorf("returned before the other goroutines finished: %v", done)
		}
	}()
	a.parallel(3, func(w int, _ *worker) {
		if w == 2 {
			panic("worker 2")
		}
		time.Sleep(10 * time.Millisecond)
		done[w] = true
	})
}
