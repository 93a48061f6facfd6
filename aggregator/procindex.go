package aggregator

import "tlmon/model"

// procIndex finds processes by ID like Aggregator.procs, only faster, which
// matters for the entries of a delta: open addressing with linear probing, the
// IDs kept in the slots.
type procIndex struct {
	slots []procSlot // nil or a power of two long, at most half full
	n     int
}

type procSlot struct {
	id model.ProcID
	p  *proc // nil: free
}

func (x *procIndex) home(id model.ProcID) int {
	h := (uint64(id.PID) ^ id.Start*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
	return int(h>>32) & (len(x.slots) - 1)
}

func (x *procIndex) get(id model.ProcID) *proc {
	if x.n == 0 {
		return nil
	}
	for i := x.home(id); ; i = (i + 1) & (len(x.slots) - 1) {
		s := &x.slots[i]
		if s.p == nil || s.id == id {
			return s.p
		}
	}
}

func (x *procIndex) put(p *proc) {
	if 2*(x.n+1) > len(x.slots) {
		old := x.slots
		x.slots, x.n = make([]procSlot, max(64, 2*len(old))), 0
		for _, s := range old {
			if s.p != nil {
				x.put(s.p)
			}
		}
	}
	i := x.home(p.info.ID)
	for x.slots[i].p != nil && x.slots[i].id != p.info.ID {
		i = (i + 1) & (len(x.slots) - 1)
	}
	if x.slots[i].p == nil {
		x.n++
	}
	x.slots[i] = procSlot{p.info.ID, p}
}

func (x *procIndex) del(id model.ProcID) {
	if x.n == 0 {
		return
	}
	mask := len(x.slots) - 1
	i := x.home(id)
	for x.slots[i].id != id {
		if x.slots[i].p == nil {
			return
		}
		i = (i + 1) & mask
	}
	// Shift back the entries after i that would not be found past a free i.
	for j := (i + 1) & mask; x.slots[j].p != nil; j = (j + 1) & mask {
		if h := x.home(x.slots[j].id); (j-h)&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = procSlot{}
	x.n--
}
