package history

import (
	"slices"
	"sort"
)

// Lists (processes, syscalls, errnos, files, endpoints, connections) are
// written against the previous snapshot's list as a small program the decoder
// runs over it: copy a run of elements unchanged, move the cursor, take the
// element under the cursor with changes, or add a new element. Only what
// changed costs bytes, and the elements copied are the previous snapshot's
// values (their slices and histograms shared, not copied).
//
// A list its producer keeps sorted (processes and syscalls by calls, files by
// opens) is written in the previous list's order, so that an element moving
// up the ranking costs no cursor move, and the decoder sorts it again. The
// encoder checks that next is strictly sorted by that order first: only then
// does sorting give back exactly its order.

// A list is written as one of these modes, then for the last two its length
// and the operations.
const (
	listSame   = iota // the previous list, shared
	listNil           // nil (not an empty list: JSON's omitempty tells them apart)
	listOps           // the operations give the order
	listSorted        // the operations, then sort by the element's order
)

// Operations: uvarint of arg<<2 | op.
const (
	opCopy    = iota // copy arg elements from the cursor
	opSeek           // move the cursor by the zigzag-encoded arg
	opChanged        // copy arg elements, then take the one under the cursor, changed
	opNew            // a new element, written against the zero value; arg is 0
)

// elem says how a list's elements are matched, compared and written.
type elem[T any, K comparable] struct {
	key func(*T) K
	// order is the order the producer keeps the list in, nil if none.
	order func(a, b *T) int
	// same says whether a and b are equal in every field.
	same func(a, b *T) bool
	// enc writes next against prev (the zero value for a new element); dec
	// reads it into out, which holds a copy of prev.
	enc func(e *encoder, prev, next *T)
	dec func(d *decoder, prev, out *T)
	// zero is the prev of a new element: a variable of its own would
	// escape through enc and dec, an allocation per element.
	zero T
}

// smallList is the length under which an element's match in the previous
// list is looked for by scanning, not through a map.
const smallList = 16

func sameList[T any, K comparable](c *elem[T, K], prev, next []T) bool {
	if (prev == nil) != (next == nil) || len(prev) != len(next) {
		return false
	}
	if len(next) == 0 || &prev[0] == &next[0] {
		return true
	}
	for i := range next {
		if !c.same(&prev[i], &next[i]) {
			return false
		}
	}
	return true
}

func appendList[T any, K comparable](e *encoder, c *elem[T, K], prev, next []T) {
	if sameList(c, prev, next) {
		e.uvarint(listSame)
		return
	}
	if next == nil {
		e.uvarint(listNil)
		return
	}
	sorted := c.order != nil
	for i := 1; sorted && i < len(next); i++ {
		sorted = c.order(&next[i-1], &next[i]) < 0
	}
	if sorted {
		e.uvarint(listSorted)
	} else {
		e.uvarint(listOps)
	}
	e.uvarint(uint64(len(next)))

	// src[i] is the element of prev next[i] is written against, -1 for none;
	// dst is the inverse. An element of prev serves one element of next at
	// most, so the decoder's count stays bounded by prev's length plus the
	// frame's bytes.
	mark := len(e.ints)
	e.ints = slices.Grow(e.ints, len(next)+len(prev))[:mark+len(next)+len(prev)]
	src, dst := e.ints[mark:mark+len(next)], e.ints[mark+len(next):]
	for i := range dst {
		dst[i] = -1
	}
	var index map[K]int32
	if len(prev) > smallList {
		index = make(map[K]int32, len(prev))
		for j := range prev {
			index[c.key(&prev[j])] = int32(j)
		}
	}
	for i := range next {
		src[i] = -1
		k := c.key(&next[i])
		j := int32(-1)
		if i < len(prev) && c.key(&prev[i]) == k {
			j = int32(i) // most elements keep their place
		} else if index != nil {
			if x, ok := index[k]; ok {
				j = x
			}
		} else {
			for x := range prev {
				if c.key(&prev[x]) == k {
					j = int32(x)
					break
				}
			}
		}
		if j >= 0 && dst[j] < 0 {
			src[i], dst[j] = j, int32(i)
		}
	}

	w := opWriter[T, K]{e: e, c: c, prev: prev}
	if sorted {
		for j, i := range dst {
			if i >= 0 {
				w.from(j, &next[i])
			}
		}
	} else {
		for i, j := range src {
			if j >= 0 {
				w.from(int(j), &next[i])
			} else {
				w.added(&next[i])
			}
		}
	}
	if sorted {
		for i, j := range src {
			if j < 0 {
				w.added(&next[i])
			}
		}
	}
	w.flush()
	e.ints = e.ints[:mark]
}

// opWriter turns elements taken from prev, or new, into operations.
type opWriter[T any, K comparable] struct {
	e      *encoder
	c      *elem[T, K]
	prev   []T
	cursor int
	run    int // elements to copy, not written yet
}

func (w *opWriter[T, K]) from(j int, next *T) {
	if j != w.cursor {
		w.flush()
		w.e.uvarint(zigzag(int64(j-w.cursor))<<2 | opSeek)
		w.cursor = j
	}
	if w.c.same(&w.prev[j], next) {
		w.run++
	} else {
		w.e.uvarint(uint64(w.run)<<2 | opChanged)
		w.run = 0
		w.c.enc(w.e, &w.prev[j], next)
	}
	w.cursor++
}

func (w *opWriter[T, K]) added(next *T) {
	w.flush()
	w.e.uvarint(opNew)
	w.c.enc(w.e, &w.c.zero, next)
}

func (w *opWriter[T, K]) flush() {
	if w.run > 0 {
		w.e.uvarint(uint64(w.run)<<2 | opCopy)
		w.run = 0
	}
}

func readList[T any, K comparable](d *decoder, c *elem[T, K], prev []T) []T {
	mode := d.uvarint()
	switch mode {
	case listSame:
		return prev
	case listNil:
		return nil
	case listOps, listSorted:
	default:
		d.fail("bad list mode")
		return nil
	}
	n := d.count(len(prev) + d.remaining())
	out := make([]T, 0, n)
	// As the encoder does, an element of prev serves once at most: a few
	// bytes cannot make many copies of a large element.
	var small uint64
	var used []uint64
	if len(prev) > 64 {
		used = make([]uint64, (len(prev)+63)/64)
	}
	take := func(from, to int) bool {
		for i := from; i < to; i++ {
			w, bit := &small, uint64(1)<<(i%64)
			if used != nil {
				w = &used[i/64]
			}
			if *w&bit != 0 {
				d.fail("an element of the previous list taken twice")
				return false
			}
			*w |= bit
		}
		return true
	}
	cursor := 0
	for len(out) < n && d.err == nil {
		op := d.uvarint()
		arg := op >> 2
		switch op & 3 {
		case opCopy:
			if arg > uint64(len(prev)-cursor) || arg > uint64(n-len(out)) {
				d.fail("copy beyond the list")
				break
			}
			if !take(cursor, cursor+int(arg)) {
				break
			}
			out = append(out, prev[cursor:cursor+int(arg)]...)
			cursor += int(arg)
		case opSeek:
			to := int64(cursor) + unzigzag(arg)
			if to < 0 || to > int64(len(prev)) {
				d.fail("seek beyond the list")
				break
			}
			cursor = int(to)
		case opChanged:
			if arg >= uint64(len(prev)-cursor) || arg >= uint64(n-len(out)) {
				d.fail("change beyond the list")
				break
			}
			if !take(cursor, cursor+int(arg)+1) {
				break
			}
			out = append(out, prev[cursor:cursor+int(arg)]...)
			cursor += int(arg)
			out = append(out, prev[cursor])
			c.dec(d, &prev[cursor], &out[len(out)-1])
			cursor++
		case opNew:
			if arg != 0 {
				d.fail("bad new element")
				break
			}
			out = append(out, c.zero)
			c.dec(d, &c.zero, &out[len(out)-1])
		}
	}
	if d.err == nil && mode == listSorted {
		// Through pointers: the elements (a process is some 300 bytes) are
		// moved only when out of place, which few are.
		sort.Sort(byOrder[T]{out, c.order})
	}
	return out
}

type byOrder[T any] struct {
	s     []T
	order func(a, b *T) int
}

func (o byOrder[T]) Len() int           { return len(o.s) }
func (o byOrder[T]) Less(i, j int) bool { return o.order(&o.s[i], &o.s[j]) < 0 }
func (o byOrder[T]) Swap(i, j int)      { o.s[i], o.s[j] = o.s[j], o.s[i] }

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(v uint64) int64 { return int64(v>>1) ^ -int64(v&1) }
