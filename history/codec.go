package history

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"tlmon/model"
)

// The frame format. A frame is one snapshot written against the previous one
// (a delta) or against the empty snapshot (a keyframe):
//
//	version byte (formatVersion), kind byte (kindKey or kindDelta)
//	the snapshot's words (counts, times, losses) against prev's, then its
//	rates against their prediction, then its lists: system syscalls,
//	processes, files, endpoints, connections (see list.go)
//
// Numbers are varints: a word that changed is its signed difference from the
// previous value, a mask saying which did. Rates, averages and percentiles
// are predicted from the counts (calls since prev over the interval, as the
// aggregator computes them; a histogram's quantiles) and written only where
// the prediction misses, so exactness never depends on the prediction. A
// histogram is its changed buckets; a string is written once per frame, then
// referenced. Nothing in a frame points outside it but to prev, so frames are
// self-contained bytes a recording can hold.
//
// A coarse delta (format 2) keeps each syscall's latency sum to the
// microsecond: it writes the change of the sum in whole microseconds
// (next/1000 - prev/1000), which the decoder adds to its own sum. The
// nanoseconds of a sum are noise no compressor removes (about 40 % of a
// recording's bytes); kept this way, a sum decoded after any number of
// coarse deltas is within a microsecond of the true one (the remainders of
// the last exact frame and of this one differ by less than that, and never
// add up), a process's within a microsecond per syscall, and the next
// keyframe is exact again. Everything else stays exact.

// formatVersion is the format written; ApplyDelta reads it and format 1
// (the same without coarse deltas).
const formatVersion = 2

const (
	kindKey    = 0
	kindDelta  = 1
	kindCoarse = 3 // format 2; 2 is kindCalls (calls.go)
)

// coarseNs is the unit of a coarse delta's latency sums.
const coarseNs = 1000

// AppendDelta appends to dst the frame that turns prev into next, or with
// prev nil a keyframe (next against the empty snapshot).
func AppendDelta(dst []byte, prev, next *model.Snapshot) []byte {
	return appendFrame(dst, prev, next, false)
}

// AppendCoarseDelta is AppendDelta with the syscalls' latency sums kept to
// the microsecond (see above) when prev is not nil.
func AppendCoarseDelta(dst []byte, prev, next *model.Snapshot) []byte {
	return appendFrame(dst, prev, next, true)
}

func appendFrame(dst []byte, prev, next *model.Snapshot, coarse bool) []byte {
	kind := byte(kindDelta)
	switch {
	case prev == nil:
		prev, kind, coarse = &model.Snapshot{}, kindKey, false
	case coarse:
		kind = kindCoarse
	}
	e := encoder{buf: append(dst, formatVersion, kind), secs: next.Interval.Seconds(), coarse: coarse}
	appendSnapshot(&e, prev, next)
	return e.buf
}

// ApplyDelta rebuilds the snapshot a frame describes from prev, which a
// keyframe ignores (it may be nil) and a delta needs. The result shares what
// did not change with prev, which is only read.
func ApplyDelta(prev *model.Snapshot, delta []byte) (*model.Snapshot, error) {
	if len(delta) < 2 {
		return nil, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(delta))
	}
	if err := checkFormat(delta[0]); err != nil {
		return nil, err
	}
	switch {
	case delta[1] == kindKey:
		prev = &model.Snapshot{}
	case delta[1] == kindDelta || delta[1] == kindCoarse && delta[0] >= 2:
		if prev == nil {
			return nil, errNoPrev
		}
	default:
		return nil, fmt.Errorf("%w: kind %d", ErrCorrupt, delta[1])
	}
	d := decoder{b: delta, off: 2, coarse: delta[1] == kindCoarse}
	s := readSnapshot(&d, prev)
	if d.err == nil && d.off != len(d.b) {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return s, nil
}

// checkFormat says why a frame of format v cannot be read, nil if it can.
func checkFormat(v byte) error {
	if v < 1 || v > formatVersion {
		return fmt.Errorf("history frame of format %d: this tlmon reads formats 1 to %d", v, formatVersion)
	}
	return nil
}

// openFrame checks that frame is one of kind (a calls or lifecycle frame,
// what) in a format this tlmon reads, and returns a decoder past its head.
func openFrame(frame []byte, kind byte, what string) (decoder, error) {
	if len(frame) < 2 || frame[1] != kind {
		return decoder{}, fmt.Errorf("%w: not a %s frame", ErrCorrupt, what)
	}
	if err := checkFormat(frame[0]); err != nil {
		return decoder{}, err
	}
	return decoder{b: frame, off: 2}, nil
}

var errNoPrev = errors.New("history: a delta applied without its previous snapshot")

// IsKeyframe says whether frame needs no previous snapshot.
func IsKeyframe(frame []byte) bool { return len(frame) >= 2 && frame[1] == kindKey }

// The words of a snapshot; the losses by cause come last.
const snapWords = 31 + int(model.NumLossCauses)

// A mask of words is a uint64: this fails to compile past 64 words.
var _ [64 - snapWords]struct{}

func snapshotWords(s *model.Snapshot) (w [snapWords]uint64) {
	at, atNs := timeWords(s.At)
	w = [snapWords]uint64{
		at, atNs, uint64(s.Interval), uint64(s.Elapsed),
		s.Totals.Calls, s.Totals.Errors, s.Totals.LatSumNs, s.Totals.LatCount,
		s.Retired.Processes, s.Retired.Calls, s.Retired.Errors, s.Restarts,
		s.IO.Read, s.IO.Written, s.IO.Received, s.IO.Sent,
		uint64(s.PendingCalls), s.DetailEvents, s.DetailAttempted,
		s.Lost.ProcOverflow, s.Lost.Total, s.Lost.EventsAttempted, s.Lost.EventsReceived, s.Lost.AttributionMisses,
		s.Lost.Unattributed.Calls, s.Lost.Unattributed.Errors, s.Lost.Unattributed.LatSumNs, s.Lost.Unattributed.LatCount,
		s.FilesRefused, s.EndpointsRefused, s.LatencyPerSyscallOnly,
	}
	copy(w[31:], s.Lost.ByCause[:])
	return w
}

func setSnapshotWords(s *model.Snapshot, w *[snapWords]uint64) {
	s.At, s.Interval, s.Elapsed = wordsTime(w[0], w[1]), time.Duration(w[2]), time.Duration(w[3])
	s.Totals.Counts = model.Counts{Calls: w[4], Errors: w[5], LatSumNs: w[6], LatCount: w[7]}
	s.Retired = model.RetiredStats{Processes: w[8], Calls: w[9], Errors: w[10]}
	s.Restarts = w[11]
	s.IO.IOCounts = model.IOCounts{Read: w[12], Written: w[13], Received: w[14], Sent: w[15]}
	s.PendingCalls, s.DetailEvents, s.DetailAttempted = int64(w[16]), w[17], w[18]
	s.Lost.ProcOverflow, s.Lost.Total, s.Lost.EventsAttempted, s.Lost.EventsReceived, s.Lost.AttributionMisses = w[19], w[20], w[21], w[22], w[23]
	s.Lost.Unattributed = model.Counts{Calls: w[24], Errors: w[25], LatSumNs: w[26], LatCount: w[27]}
	s.FilesRefused, s.EndpointsRefused, s.LatencyPerSyscallOnly = w[28], w[29], w[30]
	copy(s.Lost.ByCause[:], w[31:])
}

func appendSnapshot(e *encoder, prev, next *model.Snapshot) {
	pw, nw := snapshotWords(prev), snapshotWords(next)
	e.words(pw[:], nw[:])
	pf, nf := snapshotRates(prev, next, e.secs), snapshotRateValues(next)
	e.floats(pf[:], nf[:])
	appendList(e, &syscallElem, prev.Syscalls, next.Syscalls)
	appendList(e, &procElem, prev.Processes, next.Processes)
	appendList(e, &fileElem, prev.Files, next.Files)
	appendList(e, &endpointElem, prev.Endpoints, next.Endpoints)
	appendList(e, &connElem, prev.Conns, next.Conns)
}

func readSnapshot(d *decoder, prev *model.Snapshot) *model.Snapshot {
	s := new(model.Snapshot)
	*s = *prev
	w := snapshotWords(prev)
	d.words(w[:])
	setSnapshotWords(s, &w)
	d.secs = s.Interval.Seconds()
	f := snapshotRates(prev, s, d.secs)
	d.floats(f[:])
	s.Totals.CallRate, s.Totals.ErrorRate = f[0], f[1]
	s.IO.ReadRate, s.IO.WriteRate, s.IO.RecvRate, s.IO.SendRate = f[2], f[3], f[4], f[5]
	s.Syscalls = readList(d, &syscallElem, prev.Syscalls)
	s.Processes = readList(d, &procElem, prev.Processes)
	s.Files = readList(d, &fileElem, prev.Files)
	s.Endpoints = readList(d, &endpointElem, prev.Endpoints)
	s.Conns = readList(d, &connElem, prev.Conns)
	return s
}

// snapshotRates predicts next's rates from its counts and prev's.
func snapshotRates(prev, next *model.Snapshot, secs float64) [6]float64 {
	io := ioRates(&prev.IO, &next.IO, secs)
	return [6]float64{
		model.RateWithin(next.Totals.Calls-prev.Totals.Calls, next.Totals.Calls, secs),
		model.RateWithin(next.Totals.Errors-prev.Totals.Errors, next.Totals.Errors, secs),
		io[0], io[1], io[2], io[3],
	}
}

func snapshotRateValues(s *model.Snapshot) [6]float64 {
	return [6]float64{s.Totals.CallRate, s.Totals.ErrorRate, s.IO.ReadRate, s.IO.WriteRate, s.IO.RecvRate, s.IO.SendRate}
}

// The predictions are the aggregator's arithmetic (model.RateWithin; and
// aggregator/detail.go's ioStat). Should it change, frames grow by the rates
// written in full, and stay exact.
func ioRates(prev, next *model.IOStat, secs float64) [4]float64 {
	return [4]float64{
		model.Rate(next.Read-prev.Read, secs), model.Rate(next.Written-prev.Written, secs),
		model.Rate(next.Received-prev.Received, secs), model.Rate(next.Sent-prev.Sent, secs),
	}
}

// floats writes the values of next that differ from their prediction: a
// mask, then each.
func (e *encoder) floats(predicted, next []float64) {
	mask := changed(predicted, next, sameFloat)
	e.uvarint(mask)
	for i := range next {
		if mask&(1<<i) != 0 {
			e.float(next[i])
		}
	}
}

// floats reads what encoder.floats wrote into f, which holds the predictions.
func (d *decoder) floats(f []float64) {
	mask := d.uvarint()
	if mask>>len(f) != 0 {
		d.fail("bad float mask")
		return
	}
	for i := range f {
		if mask&(1<<i) != 0 {
			f[i] = d.float()
		}
	}
}

// Processes.

const procWords = 18

func procWordsOf(p *model.ProcStat) [procWords]uint64 {
	exited, exitedNs := timeWords(p.ExitedAt)
	flags := b2w(p.Alive) | b2w(p.CoreDumped)<<1 | b2w(p.Placeholder)<<2 | b2w(p.Kernel)<<3
	// What changes every interval first: the mask is then one byte.
	return [procWords]uint64{
		p.Calls, p.Errors, p.LatSumNs, p.LatCount,
		p.IO.Read, p.IO.Written, p.IO.Received, p.IO.Sent,
		flags, uint64(int64(p.ExitCode)), uint64(int64(p.ExitSignal)), exited, exitedNs,
		uint64(p.ID.PID), p.ID.Start, uint64(p.Parent.PID), p.Parent.Start, p.CgroupID,
	}
}

func setProcWords(p *model.ProcStat, w *[procWords]uint64) {
	p.Counts = model.Counts{Calls: w[0], Errors: w[1], LatSumNs: w[2], LatCount: w[3]}
	p.IO.IOCounts = model.IOCounts{Read: w[4], Written: w[5], Received: w[6], Sent: w[7]}
	p.Alive, p.CoreDumped, p.Placeholder, p.Kernel = w[8]&1 != 0, w[8]&2 != 0, w[8]&4 != 0, w[8]&8 != 0
	p.ExitCode, p.ExitSignal = int(int64(w[9])), int(int64(w[10]))
	p.ExitedAt = wordsTime(w[11], w[12])
	p.ID = model.ProcID{PID: uint32(w[13]), Start: w[14]}
	p.Parent = model.ProcID{PID: uint32(w[15]), Start: w[16]}
	p.CgroupID = w[17]
}

func procStrings(p *model.ProcStat) [5]string {
	return [5]string{p.Comm, p.Exe, p.Cmdline, p.CgroupPath, p.V1Cgroup}
}

func procRates(prev, next *model.ProcStat, secs float64) [6]float64 {
	io := ioRates(&prev.IO, &next.IO, secs)
	return [6]float64{
		model.RateWithin(next.Calls-prev.Calls, next.Calls, secs), model.RateWithin(next.Errors-prev.Errors, next.Errors, secs),
		io[0], io[1], io[2], io[3],
	}
}

func procRateValues(p *model.ProcStat) [6]float64 {
	return [6]float64{p.CallRate, p.ErrorRate, p.IO.ReadRate, p.IO.WriteRate, p.IO.RecvRate, p.IO.SendRate}
}

var procElem = elem[model.ProcStat, model.ProcID]{
	key: func(p *model.ProcStat) model.ProcID { return p.ID },
	// The aggregator's order (aggregator/snapshot.go: build).
	order: func(x, y *model.ProcStat) int {
		return cmp.Or(cmp.Compare(y.Calls, x.Calls), cmp.Compare(x.ID.PID, y.ID.PID), cmp.Compare(x.ID.Start, y.ID.Start))
	},
	same: func(a, b *model.ProcStat) bool {
		return procWordsOf(a) == procWordsOf(b) && procStrings(a) == procStrings(b) &&
			sameFloats(procRateValues(a), procRateValues(b)) &&
			sameList(&syscallElem, a.Syscalls, b.Syscalls)
	},
	enc: func(e *encoder, prev, next *model.ProcStat) {
		sec := e.beginSections()
		at := len(e.buf)
		appendList(e, &syscallElem, prev.Syscalls, next.Syscalls)
		e.endSection(&sec, at)
		pw, nw := procWordsOf(prev), procWordsOf(next)
		predictProcCounts(&pw, prev.Syscalls, next.Syscalls)
		at = len(e.buf)
		e.words(pw[:], nw[:])
		e.endSection(&sec, at)
		ps, ns := procStrings(prev), procStrings(next)
		at = len(e.buf)
		e.strings(ps[:], ns[:])
		e.endSection(&sec, at)
		pf, nf := procRates(prev, next, e.secs), procRateValues(next)
		at = len(e.buf)
		e.floats(pf[:], nf[:])
		e.endSection(&sec, at)
		e.endSections(&sec)
	},
	dec: func(d *decoder, prev, out *model.ProcStat) {
		present := d.sections(4)
		if present&1 != 0 {
			out.Syscalls = readList(d, &syscallElem, prev.Syscalls)
		}
		w := procWordsOf(prev)
		predictProcCounts(&w, prev.Syscalls, out.Syscalls)
		if present&2 != 0 {
			d.words(w[:])
		}
		setProcWords(out, &w)
		if present&4 != 0 {
			s := procStrings(prev)
			d.strings(s[:])
			out.Comm, out.Exe, out.Cmdline, out.CgroupPath, out.V1Cgroup = s[0], s[1], s[2], s[3], s[4]
		}
		f := procRates(prev, out, d.secs)
		if present&8 != 0 {
			d.floats(f[:])
		}
		out.CallRate, out.ErrorRate = f[0], f[1]
		out.IO.ReadRate, out.IO.WriteRate, out.IO.RecvRate, out.IO.SendRate = f[2], f[3], f[4], f[5]
	},
}

// predictProcCounts moves the counts in w (a process's words) by what its
// syscalls counted between prev and next: the aggregator adds the same
// counts to both, so only a process whose counts and syscalls disagree pays
// for its counts.
func predictProcCounts(w *[procWords]uint64, prev, next []model.SyscallStat) {
	if len(prev) == len(next) && (len(next) == 0 || &prev[0] == &next[0]) {
		return
	}
	for i := range next {
		w[0] += next[i].Calls
		w[1] += next[i].Errors
		w[2] += next[i].LatSumNs
		w[3] += next[i].LatCount
	}
	for i := range prev {
		w[0] -= prev[i].Calls
		w[1] -= prev[i].Errors
		w[2] -= prev[i].LatSumNs
		w[3] -= prev[i].LatCount
	}
}

// An element with sections starts with a byte saying which follow: a
// section left out is unchanged, or as predicted (its encoding would be a
// single 0: an empty mask, histSame, listSame).
type sections struct {
	hdr     int
	bit     uint
	present byte
}

func (e *encoder) beginSections() sections {
	e.buf = append(e.buf, 0)
	return sections{hdr: len(e.buf) - 1}
}

// endSection ends the section that started at offset at.
func (e *encoder) endSection(s *sections, at int) {
	if len(e.buf) == at+1 && e.buf[at] == 0 {
		e.buf = e.buf[:at]
	} else {
		s.present |= 1 << s.bit
	}
	s.bit++
}

func (e *encoder) endSections(s *sections) { e.buf[s.hdr] = s.present }

// sections reads the byte saying which of n sections follow.
func (d *decoder) sections(n uint) byte {
	b := d.byte()
	if b>>n != 0 {
		d.fail("bad sections")
	}
	return b
}

// sameFloats compares floats by their bits: -0 is not 0, and a NaN is
// itself.
func sameFloats(a, b [6]float64) bool {
	for i := range a {
		if !sameFloat(a[i], b[i]) {
			return false
		}
	}
	return true
}

// Syscalls, system-wide and per process.

const syscallWords = 6

func syscallWordsOf(s *model.SyscallStat) [syscallWords]uint64 {
	return [syscallWords]uint64{s.Calls, s.Errors, s.LatSumNs, s.LatCount, uint64(int64(s.Nr)), uint64(s.Classes)}
}

func setSyscallWords(s *model.SyscallStat, w *[syscallWords]uint64) {
	s.Counts = model.Counts{Calls: w[0], Errors: w[1], LatSumNs: w[2], LatCount: w[3]}
	s.Nr, s.Classes = int(int64(w[4])), model.Class(w[5])
}

// predictLatCount adds to the latency samples of w, a syscall's words
// decoded, the calls made since prev: nearly every call entered in an
// interval also returns in it, so the encoder writes the samples against
// that prediction (pw[3] += nw[0] - pw[0]) and they mostly cost nothing.
func predictLatCount(w *[syscallWords]uint64, prev *model.SyscallStat) {
	w[3] += w[0] - prev.Calls
}

// percentiles are the aggregator's (aggregator/hist.go).
var percentiles = [...]float64{0.50, 0.95, 0.99}

// syscallDerived predicts next's rates, mean and percentiles (as uint64s and
// float bits) from its counts and histogram. next.Hist is decoded already.
func syscallDerived(prev, next *model.SyscallStat, secs float64) [6]uint64 {
	var avg uint64
	if next.LatCount > 0 {
		avg = next.LatSumNs / next.LatCount
	}
	q := [3]uint64{prev.P50Ns, prev.P95Ns, prev.P99Ns}
	if next.Hist != prev.Hist {
		if next.Hist == nil {
			q = [3]uint64{}
		} else {
			next.Hist.Quantiles(percentiles[:], q[:])
		}
	}
	return [6]uint64{
		math.Float64bits(model.RateWithin(next.Calls-prev.Calls, next.Calls, secs)),
		math.Float64bits(model.RateWithin(next.Errors-prev.Errors, next.Errors, secs)),
		avg, q[0], q[1], q[2],
	}
}

func syscallDerivedValues(s *model.SyscallStat) [6]uint64 {
	return [6]uint64{math.Float64bits(s.CallRate), math.Float64bits(s.ErrorRate), s.AvgNs, s.P50Ns, s.P95Ns, s.P99Ns}
}

var syscallElem = elem[model.SyscallStat, int]{
	key: func(s *model.SyscallStat) int { return s.Nr },
	// The aggregator's order (aggregator/snapshot.go: bySyscallCalls).
	order: func(x, y *model.SyscallStat) int {
		return cmp.Or(cmp.Compare(y.Calls, x.Calls), cmp.Compare(x.Nr, y.Nr))
	},
	same: func(a, b *model.SyscallStat) bool {
		return syscallWordsOf(a) == syscallWordsOf(b) && a.Name == b.Name &&
			syscallDerivedValues(a) == syscallDerivedValues(b) &&
			sameHist(a.Hist, b.Hist) && sameList(&errnoElem, a.Errnos, b.Errnos)
	},
	enc: func(e *encoder, prev, next *model.SyscallStat) {
		sec := e.beginSections()
		pw, nw := syscallWordsOf(prev), syscallWordsOf(next)
		pw[3] += nw[0] - pw[0] // see predictLatCount
		if e.coarse {
			pw[2], nw[2] = pw[2]/coarseNs, nw[2]/coarseNs
		}
		at := len(e.buf)
		e.words(pw[:], nw[:])
		e.endSection(&sec, at)
		at = len(e.buf)
		e.strings([]string{prev.Name}, []string{next.Name})
		e.endSection(&sec, at)
		at = len(e.buf)
		appendHist(e, prev.Hist, next.Hist)
		e.endSection(&sec, at)
		at = len(e.buf)
		appendList(e, &errnoElem, prev.Errnos, next.Errnos)
		e.endSection(&sec, at)
		// Predicted with next's histogram as the decoder will see it:
		// prev's when they are equal.
		n := *next
		if sameHist(prev.Hist, next.Hist) {
			n.Hist = prev.Hist
		}
		pd, nd := syscallDerived(prev, &n, e.secs), syscallDerivedValues(next)
		at = len(e.buf)
		e.derived(pd[:], nd[:])
		e.endSection(&sec, at)
		e.endSections(&sec)
	},
	dec: func(d *decoder, prev, out *model.SyscallStat) {
		present := d.sections(5)
		w := syscallWordsOf(prev)
		if present&1 != 0 && d.coarse {
			sum := w[2]
			w[2] = 0
			d.words(w[:])
			w[2] = sum + w[2]*coarseNs
		} else if present&1 != 0 {
			d.words(w[:])
		}
		predictLatCount(&w, prev)
		setSyscallWords(out, &w)
		if present&2 != 0 {
			name := [1]string{prev.Name}
			d.strings(name[:])
			out.Name = name[0]
		}
		if present&4 != 0 {
			out.Hist = readHist(d, prev.Hist)
		}
		if present&8 != 0 {
			out.Errnos = readList(d, &errnoElem, prev.Errnos)
		}
		v := syscallDerived(prev, out, d.secs)
		if present&16 != 0 {
			d.derived(v[:])
		}
		out.CallRate, out.ErrorRate = math.Float64frombits(v[0]), math.Float64frombits(v[1])
		out.AvgNs, out.P50Ns, out.P95Ns, out.P99Ns = v[2], v[3], v[4], v[5]
	},
}

// derived writes a syscall's rates (float bits) and latencies that differ
// from their prediction: a mask, then each, the rates as floats.
func (e *encoder) derived(predicted, next []uint64) {
	mask := changed(predicted, next, func(a, b uint64) bool { return a == b })
	e.uvarint(mask)
	for i := range next {
		switch {
		case mask&(1<<i) == 0:
		case i < 2:
			e.float(math.Float64frombits(next[i]))
		default:
			e.uvarint(next[i])
		}
	}
}

func (d *decoder) derived(v []uint64) {
	mask := d.uvarint()
	if mask>>len(v) != 0 {
		d.fail("bad derived mask")
		return
	}
	for i := range v {
		switch {
		case mask&(1<<i) == 0:
		case i < 2:
			v[i] = math.Float64bits(d.float())
		default:
			v[i] = d.uvarint()
		}
	}
}

// Histograms: the same (shared), nil, or the buckets that changed from prev's
// (or from empty): histBuckets plus their count, then each as one uvarint
// of its signed difference (zigzag) shifted by histGapBits and its gap from
// the last bucket written. A gap too wide for those bits is histGapEscape,
// the gap following; a difference too large for the rest is 0 (no changed
// bucket's is), the difference following, after the gap if it is there.
// Latencies crowd a few neighbouring buckets, so most buckets take a byte.
const (
	histSame = iota
	histNil
	histBuckets
)

const (
	histGapBits   = 3
	histGapEscape = 1<<histGapBits - 1
)

func sameHist(a, b *model.Hist) bool {
	return a == b || a != nil && b != nil && *a == *b
}

func appendHist(e *encoder, prev, next *model.Hist) {
	switch {
	case sameHist(prev, next):
		e.uvarint(histSame)
		return
	case next == nil:
		e.uvarint(histNil)
		return
	}
	var base model.Hist
	if prev != nil {
		base = *prev
	}
	n := 0
	for i := range next {
		if next[i] != base[i] {
			n++
		}
	}
	e.uvarint(histBuckets + uint64(n))
	last := 0
	for i := range next {
		if next[i] == base[i] {
			continue
		}
		delta, gap := int64(next[i]-base[i]), i-last
		z := zigzag(delta)
		wide := z >= 1<<(64-histGapBits)
		if wide {
			z = 0 // a changed bucket's is never 0: the difference follows
		}
		e.uvarint(z<<histGapBits | uint64(min(gap, histGapEscape)))
		if gap >= histGapEscape {
			e.uvarint(uint64(gap))
		}
		if wide {
			e.varint(delta)
		}
		last = i
	}
}

func readHist(d *decoder, prev *model.Hist) *model.Hist {
	mode := d.uvarint()
	switch {
	case mode == histSame:
		return prev
	case mode == histNil:
		return nil
	case mode-histBuckets > model.HistBuckets:
		d.fail("bad histogram")
		return nil
	}
	n := int(mode - histBuckets)
	h := new(model.Hist)
	if prev != nil {
		*h = *prev
	}
	last := 0
	for range n {
		v := d.uvarint()
		gap := v & histGapEscape
		if gap == histGapEscape {
			gap = d.uvarint()
		}
		delta := unzigzag(v >> histGapBits)
		if v>>histGapBits == 0 {
			delta = d.varint()
		}
		if gap >= uint64(model.HistBuckets-last) {
			d.fail("bad histogram bucket")
			return nil
		}
		last += int(gap)
		h[last] += uint64(delta)
	}
	return h
}

// Errno breakdowns.

var errnoElem = elem[model.ErrnoCount, int]{
	key: func(c *model.ErrnoCount) int { return c.Errno },
	same: func(a, b *model.ErrnoCount) bool {
		return *a == *b
	},
	enc: func(e *encoder, prev, next *model.ErrnoCount) {
		e.words([]uint64{uint64(int64(prev.Errno)), prev.Count}, []uint64{uint64(int64(next.Errno)), next.Count})
		e.strings([]string{prev.Name}, []string{next.Name})
	},
	dec: func(d *decoder, prev, out *model.ErrnoCount) {
		w := [2]uint64{uint64(int64(prev.Errno)), prev.Count}
		d.words(w[:])
		s := [1]string{prev.Name}
		d.strings(s[:])
		out.Errno, out.Count, out.Name = int(int64(w[0])), w[1], s[0]
	},
}

// Files and endpoints.

func fileWords(f *model.FileStat) [4]uint64 {
	return [4]uint64{f.Opens, f.Errors, uint64(f.LastProc.PID), f.LastProc.Start}
}

var fileElem = elem[model.FileStat, string]{
	key: func(f *model.FileStat) string { return f.Path },
	// The aggregator's order (aggregator/detail.go: fileStats).
	order: func(x, y *model.FileStat) int {
		return cmp.Or(cmp.Compare(y.Opens, x.Opens), strings.Compare(x.Path, y.Path))
	},
	same: func(a, b *model.FileStat) bool {
		return fileWords(a) == fileWords(b) && a.Path == b.Path && a.LastComm == b.LastComm &&
			sameList(&errnoElem, a.Errnos, b.Errnos)
	},
	enc: func(e *encoder, prev, next *model.FileStat) {
		pw, nw := fileWords(prev), fileWords(next)
		e.words(pw[:], nw[:])
		e.strings([]string{prev.Path, prev.LastComm}, []string{next.Path, next.LastComm})
		appendList(e, &errnoElem, prev.Errnos, next.Errnos)
	},
	dec: func(d *decoder, prev, out *model.FileStat) {
		w := fileWords(prev)
		d.words(w[:])
		out.Opens, out.Errors, out.LastProc = w[0], w[1], model.ProcID{PID: uint32(w[2]), Start: w[3]}
		s := [2]string{prev.Path, prev.LastComm}
		d.strings(s[:])
		out.Path, out.LastComm = s[0], s[1]
		out.Errnos = readList(d, &errnoElem, prev.Errnos)
	},
}

func endpointWords(p *model.EndpointStat) [6]uint64 {
	return [6]uint64{p.Connects, p.Accepts, p.Binds, p.Errors, uint64(p.LastProc.PID), p.LastProc.Start}
}

var endpointElem = elem[model.EndpointStat, string]{
	key: func(p *model.EndpointStat) string { return p.Endpoint },
	// The aggregator's order (aggregator/detail.go: endpointStats).
	order: func(x, y *model.EndpointStat) int {
		return cmp.Or(cmp.Compare(y.Connects+y.Accepts+y.Binds, x.Connects+x.Accepts+x.Binds), strings.Compare(x.Endpoint, y.Endpoint))
	},
	same: func(a, b *model.EndpointStat) bool {
		return endpointWords(a) == endpointWords(b) && a.Endpoint == b.Endpoint && a.LastComm == b.LastComm &&
			sameList(&errnoElem, a.Errnos, b.Errnos)
	},
	enc: func(e *encoder, prev, next *model.EndpointStat) {
		pw, nw := endpointWords(prev), endpointWords(next)
		e.words(pw[:], nw[:])
		e.strings([]string{prev.Endpoint, prev.LastComm}, []string{next.Endpoint, next.LastComm})
		appendList(e, &errnoElem, prev.Errnos, next.Errnos)
	},
	dec: func(d *decoder, prev, out *model.EndpointStat) {
		w := endpointWords(prev)
		d.words(w[:])
		out.Connects, out.Accepts, out.Binds, out.Errors = w[0], w[1], w[2], w[3]
		out.LastProc = model.ProcID{PID: uint32(w[4]), Start: w[5]}
		s := [2]string{prev.Endpoint, prev.LastComm}
		d.strings(s[:])
		out.Endpoint, out.LastComm = s[0], s[1]
		out.Errnos = readList(d, &errnoElem, prev.Errnos)
	},
}

// TCP connections: a connection is its own key (the list is most recent
// first, new ones come in front and the oldest fall off the end), so an
// element is either the same as one of prev's or new.

type connKey struct {
	proc          model.ProcID
	comm, state   string
	local, remote string
	at, atNs      uint64
}

func connKeyOf(c *model.TCPConn) connKey {
	at, atNs := timeWords(c.Time)
	return connKey{c.Proc, c.Comm, c.State, addrString(c.Local), addrString(c.Remote), at, atNs}
}

// addrString is an address in netip's binary form (IPv4, IPv6 with its zone,
// or nothing for the zero address, then the port): exact, unlike its text.
func addrString(a netip.AddrPort) string {
	b, _ := a.MarshalBinary() // never fails
	return string(b)
}

var connElem = elem[model.TCPConn, connKey]{
	key:  connKeyOf,
	same: func(a, b *model.TCPConn) bool { return connKeyOf(a) == connKeyOf(b) },
	enc: func(e *encoder, prev, next *model.TCPConn) {
		pk, nk := connKeyOf(prev), connKeyOf(next)
		e.words([]uint64{uint64(pk.proc.PID), pk.proc.Start, pk.at, pk.atNs}, []uint64{uint64(nk.proc.PID), nk.proc.Start, nk.at, nk.atNs})
		e.strings([]string{pk.comm, pk.state, pk.local, pk.remote}, []string{nk.comm, nk.state, nk.local, nk.remote})
	},
	dec: func(d *decoder, prev, out *model.TCPConn) {
		k := connKeyOf(prev)
		w := [4]uint64{uint64(k.proc.PID), k.proc.Start, k.at, k.atNs}
		d.words(w[:])
		s := [4]string{k.comm, k.state, k.local, k.remote}
		d.strings(s[:])
		out.Proc, out.Time = model.ProcID{PID: uint32(w[0]), Start: w[1]}, wordsTime(w[2], w[3])
		out.Comm, out.State = s[0], s[1]
		if out.Local.UnmarshalBinary([]byte(s[2])) != nil || out.Remote.UnmarshalBinary([]byte(s[3])) != nil {
			d.fail("bad address")
		}
	},
}
