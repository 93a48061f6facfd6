package aggregator

import (
	"math/rand/v2"
	"testing"

	"tlmon/model"
)

// TestProcIndexMatchesAMap puts and deletes random IDs, many colliding, and
// checks every lookup against a map.
func TestProcIndexMatchesAMap(t *testing.T) {
	var x procIndex
	m := map[model.ProcID]*proc{}
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([]model.ProcID, 3000)
	for i := range ids {
		ids[i] = model.ProcID{PID: uint32(rng.IntN(500)), Start: uint64(rng.IntN(8))}
	}
	if x.get(ids[0]) != nil {
		t.Fatal("empty index finds something")
	}
	x.del(ids[0]) // no-op
	for step := range 200000 {
		id := ids[rng.IntN(len(ids))]
		if m[id] == nil && rng.IntN(3) != 0 {
			p := &proc{info: model.ProcInfo{ID: id}}
			m[id] = p
			x.put(p)
		} else if m[id] != nil && rng.IntN(2) == 0 {
			delete(m, id)
			x.del(id)
		}
		if x.n != len(m) {
			t.Fatalf("step %d: index holds %d, map %d", step, x.n, len(m))
		}
		if step%1000 == 0 {
			for _, id := range ids {
				if x.get(id) != m[id] {
					t.Fatalf("step %d: index finds %v for %v, map %v", step, x.get(id), id, m[id])
				}
			}
		}
	}
}

// BenchmarkProcIndex looks up processes as HandleCounters does for the
// entries of a delta, in the index and in a map[model.ProcID]*proc like
// Aggregator.procs: 2,456 processes (2,000 live, MaxExited exited, 200 new),
// 20 entries each, in random order as a map of entries gives them.
func BenchmarkProcIndex(b *testing.B) {
	var x procIndex
	m := map[model.ProcID]*proc{}
	var ids []model.ProcID
	for pid := uint32(1); pid <= 2000+DefaultMaxExited+200; pid++ {
		id := model.ProcID{PID: pid * 7, Start: uint64(pid) * 1000003}
		p := &proc{info: model.ProcInfo{ID: id}}
		x.put(p)
		m[id] = p
		for range 20 {
			ids = append(ids, id)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	for _, bm := range []struct {
		name string
		get  func(model.ProcID) *proc
	}{
		{"table", x.get},
		{"map", func(id model.ProcID) *proc { return m[id] }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				for _, id := range ids {
					if bm.get(id) == nil {
						b.Fatal("not found")
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ids)), "ns/lookup")
		})
	}
}
