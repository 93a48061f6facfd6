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
