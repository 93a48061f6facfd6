package history

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"time"
)

// The primitives of the format: varints, words changed against a base, floats,
// strings shared within a frame, times. The encoder appends to one buffer; the
// decoder keeps its first error and returns zero values after it, so that the
// code reading a structure checks the error once, at the end.

// ErrCorrupt is wrapped by every error of ApplyDelta about the bytes
// themselves (as opposed to a delta applied without its previous snapshot).
var ErrCorrupt = errors.New("corrupt history frame")

type encoder struct {
	buf []byte
	// strs numbers the strings written in this frame, so that a string met
	// again (a comm, an exe or a cgroup many processes share) is a reference.
	strs map[string]uint64
	// ints is scratch space for the lists' matching, used as a stack: nested
	// lists take their part above their parent's.
	ints []int32
	// secs is the snapshot's interval, for the rates predicted.
	secs float64
	// coarse: a coarse delta's latency sums (codec.go).
	coarse bool
}

func (e *encoder) uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *encoder) varint(v int64)   { e.buf = binary.AppendVarint(e.buf, v) }

// float writes f's bits most significant byte first, without the trailing
// zero bytes, after their count: 0 is one byte, a round number a few, and a
// rate with a full mantissa nine.
func (e *encoder) float(f float64) {
	v := math.Float64bits(f)
	n := 8 - bits.TrailingZeros64(v)/8 // 0 for 0, whose 64 zeros trail
	e.buf = append(e.buf, byte(n))
	for i := range n {
		e.buf = append(e.buf, byte(v>>(56-8*i)))
	}
}

// str writes s as a new string (uvarint of len<<1, then its bytes) or as a
// reference to the same string written earlier in the frame (uvarint of
// index<<1 | 1).
func (e *encoder) str(s string) {
	if i, ok := e.strs[s]; ok {
		e.uvarint(i<<1 | 1)
		return
	}
	if e.strs == nil {
		e.strs = make(map[string]uint64)
	}
	e.strs[s] = uint64(len(e.strs))
	e.uvarint(uint64(len(s)) << 1)
	e.buf = append(e.buf, s...)
}

// changed is the mask of the places where next is not same as base (at
// most 64): what a mask-led list of values writes.
func changed[T any](base, next []T, same func(a, b T) bool) uint64 {
	var mask uint64
	for i := range next {
		if !same(base[i], next[i]) {
			mask |= 1 << i
		}
	}
	return mask
}

// words writes next against base: a mask of the words that differ, then each
// of those as the signed difference (wrapping) from its base. len(next) <= 64.
func (e *encoder) words(base, next []uint64) {
	mask := changed(base, next, func(a, b uint64) bool { return a == b })
	e.uvarint(mask)
	for m := mask; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		e.varint(int64(next[i] - base[i]))
	}
}

// strings writes the strings of next that differ from base's: a mask, then
// each.
func (e *encoder) strings(base, next []string) {
	mask := changed(base, next, func(a, b string) bool { return a == b })
	e.uvarint(mask)
	for m := mask; m != 0; m &= m - 1 {
		e.str(next[bits.TrailingZeros64(m)])
	}
}

type decoder struct {
	b      []byte
	off    int
	err    error
	strs   []string
	secs   float64
	coarse bool
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", ErrCorrupt, what, d.off)
	}
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) uvarint() uint64 { return readVarint(d, binary.Uvarint, "bad uvarint") }
func (d *decoder) varint() int64   { return readVarint(d, binary.Varint, "bad varint") }

// readVarint reads a varint with read (binary.Uvarint or binary.Varint);
// after an error it reads nothing and returns 0.
func readVarint[T uint64 | int64](d *decoder, read func([]byte) (T, int), what string) T {
	if d.err != nil {
		return 0
	}
	v, n := read(d.b[d.off:])
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("short")
		return 0
	}
	d.off++
	return d.b[d.off-1]
}

func (d *decoder) float() float64 {
	n := int(d.byte())
	if n > 8 || n > d.remaining() {
		d.fail("bad float")
		return 0
	}
	var v uint64
	for i := range n {
		v |= uint64(d.b[d.off+i]) << (56 - 8*i)
	}
	d.off += n
	return math.Float64frombits(v)
}

func (d *decoder) str() string {
	v := d.uvarint()
	if v&1 == 1 {
		if v>>1 >= uint64(len(d.strs)) {
			d.fail("bad string reference")
			return ""
		}
		return d.strs[v>>1]
	}
	if v>>1 > uint64(d.remaining()) {
		d.fail("string longer than the frame")
		return ""
	}
	n := int(v >> 1)
	s := string(d.b[d.off : d.off+n])
	d.off += n
	d.strs = append(d.strs, s)
	return s
}

// words reads what encoder.words wrote into w, which holds the base.
func (d *decoder) words(w []uint64) {
	mask := d.uvarint()
	if mask>>len(w) != 0 {
		d.fail("bad word mask")
		return
	}
	for m := mask; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		w[i] += uint64(d.varint())
	}
}

// strings reads what encoder.strings wrote into s, which holds the base.
func (d *decoder) strings(s []string) {
	mask := d.uvarint()
	if mask>>len(s) != 0 {
		d.fail("bad string mask")
		return
	}
	for m := mask; m != 0; m &= m - 1 {
		s[bits.TrailingZeros64(m)] = d.str()
	}
}

// count reads a number of elements, at most max.
func (d *decoder) count(max int) int {
	n := d.uvarint()
	if n > uint64(max) {
		d.fail("count larger than the frame allows")
		return 0
	}
	return int(n)
}

// Times are kept as two words, set (0 for the zero time) and nanoseconds
// since the epoch: the instant exactly, not the Location nor the monotonic
// reading. Decoded times are in time.Local, as the aggregator's readings of
// time.Now are, so that a replay prints them as the live monitor did.
func timeWords(t time.Time) (set, ns uint64) {
	if t.IsZero() {
		return 0, 0
	}
	return 1, uint64(t.UnixNano())
}

func wordsTime(set, ns uint64) time.Time {
	if set == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(ns))
}

func b2w(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func sameFloat(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }
