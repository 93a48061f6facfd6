package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"tlmon/model"
)

// deepDiff says where a and b differ, "" if nowhere. Unlike reflect.DeepEqual
// it compares floats by their bits (a NaN equals itself, -0 is not 0) and
// tells nil from empty slices, as JSON's omitempty would.
func deepDiff(a, b any) string {
	return diffValues(reflect.ValueOf(a), reflect.ValueOf(b))
}

// diffValues returns the path to the first difference and what differs
// there, built only on the way back from it.
func diffValues(a, b reflect.Value) string {
	if a.Kind() != b.Kind() {
		return ": kinds differ"
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return ": nil against non-nil"
			}
			return ""
		}
		if a.Pointer() == b.Pointer() {
			return ""
		}
		return diffValues(a.Elem(), b.Elem())
	case reflect.Slice:
		if a.IsNil() != b.IsNil() {
			return fmt.Sprintf(": nil against non-nil (len %d, %d)", a.Len(), b.Len())
		}
		if a.Len() != b.Len() {
			return fmt.Sprintf(": len %d against %d", a.Len(), b.Len())
		}
		fallthrough
	case reflect.Array:
		for i := range a.Len() {
			if d := diffValues(a.Index(i), b.Index(i)); d != "" {
				return fmt.Sprintf("[%d]", i) + d
			}
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if d := diffValues(a.Field(i), b.Field(i)); d != "" {
				return "." + a.Type().Field(i).Name + d
			}
		}
	case reflect.Float32, reflect.Float64:
		if math.Float64bits(a.Float()) != math.Float64bits(b.Float()) {
			return fmt.Sprintf(": %v against %v", a.Float(), b.Float())
		}
	case reflect.String:
		if a.String() != b.String() {
			return fmt.Sprintf(": %q against %q", a.String(), b.String())
		}
	case reflect.Bool:
		if a.Bool() != b.Bool() {
			return ": bools differ"
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if a.Int() != b.Int() {
			return fmt.Sprintf(": %d against %d", a.Int(), b.Int())
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if a.Uint() != b.Uint() {
			return fmt.Sprintf(": %d against %d", a.Uint(), b.Uint())
		}
	default:
		return ": kind " + a.Kind().String() + " not compared"
	}
	return ""
}

// fingerprint is every bit of s, to tell that nothing modified it.
func fingerprint(s *model.Snapshot) []byte { return AppendDelta(nil, nil, s) }

func mustApply(t testing.TB, prev *model.Snapshot, frame []byte) *model.Snapshot {
	t.Helper()
	s, err := ApplyDelta(prev, frame)
	if err != nil {
		t.Fatalf("ApplyDelta: %v", err)
	}
	return s
}

func TestAKeyframeRebuildsTheSnapshotExactly(t *testing.T) {
	w := newWorkload(1, 300, 0.3)
	for range 5 {
		s := w.next()
		got := mustApply(t, nil, AppendDelta(nil, nil, s))
		if d := deepDiff(s, got); d != "" {
			t.Fatalf("keyframe: %s", d)
		}
	}
}

func TestTheEmptySnapshotRoundTrips(t *testing.T) {
	for _, s := range []*model.Snapshot{{}, {Syscalls: []model.SyscallStat{}, Processes: []model.ProcStat{}, Files: []model.FileStat{}}} {
		got := mustApply(t, nil, AppendDelta(nil, nil, s))
		if d := deepDiff(s, got); d != "" {
			t.Errorf("%s", d)
		}
	}
}

// A long chain of deltas, each applied to the previous rebuilt snapshot,
// stays exact, never modifies what it is applied to, and shares what did not
// change.
func TestALongChainOfDeltasStaysExact(t *testing.T) {
	w := newWorkload(2, 500, 0.3)
	prev := w.next()
	rebuilt := mustApply(t, nil, AppendDelta(nil, nil, prev))
	for i := range 300 {
		next := w.next()
		frame := AppendDelta(nil, prev, next)
		var before []byte
		if i%10 == 0 {
			before = fingerprint(rebuilt)
		}
		got := mustApply(t, rebuilt, frame)
		if d := deepDiff(next, got); d != "" {
			t.Fatalf("frame %d: %s", i, d)
		}
		if before != nil && !bytes.Equal(before, fingerprint(rebuilt)) {
			t.Fatalf("frame %d: applying it modified the previous snapshot", i)
		}
		checkShared(t, rebuilt, got)
		if i%50 == 0 {
			// A replay prints what the live run printed, times included.
			want, _ := json.Marshal(next)
			if b, _ := json.Marshal(got); !bytes.Equal(b, want) {
				t.Fatalf("frame %d: its JSON differs", i)
			}
		}
		prev, rebuilt = next, got
	}
}

// Coarse deltas keep every syscall's latency sum within a microsecond of the
// true one however long their chain, a process's within a microsecond per
// syscall, and every other field exact; the next keyframe is exact again.
func TestCoarseDeltasKeepLatencySumsWithinAMicrosecond(t *testing.T) {
	w := newWorkload(9, 300, 0.5)
	rng := rand.New(rand.NewPCG(9, 7))
	prev := w.next()
	rebuilt := mustApply(t, nil, AppendCoarseDelta(nil, nil, prev))
	coarse := 0
	for i := range 200 {
		next := w.next()
		if i%3 == 0 {
			next = chaos(rng, next)
		}
		frame := AppendCoarseDelta(nil, prev, next)
		got := mustApply(t, rebuilt, frame)
		if d := deepDiff(next, withTrueLatencySums(t, next, got)); d != "" {
			t.Fatalf("frame %d: %s", i, d)
		}
		if !bytes.Equal(fingerprint(got), fingerprint(next)) {
			coarse++
		}
		prev, rebuilt = next, got
	}
	if coarse < 100 {
		t.Fatalf("only %d of 200 frames differed from the truth: the sums were not coarse", coarse)
	}
	if d := deepDiff(prev, mustApply(t, rebuilt, AppendCoarseDelta(nil, nil, prev))); d != "" {
		t.Fatalf("a keyframe after coarse deltas: %s", d)
	}
}

// withTrueLatencySums checks got's latency sums and means against want's
// (within a microsecond per syscall) and returns got with want's, to be
// compared exactly in everything else. got is not modified.
func withTrueLatencySums(t *testing.T, want, got *model.Snapshot) *model.Snapshot {
	t.Helper()
	truth := map[model.ProcID]*model.ProcStat{}
	for i := range want.Processes {
		truth[want.Processes[i].ID] = &want.Processes[i]
	}
	fix := func(where string, w, g *model.SyscallStat) {
		if diff := int64(g.LatSumNs - w.LatSumNs); diff <= -coarseNs || diff >= coarseNs {
			t.Fatalf("%s %s: latency sum %d, true %d", where, w.Name, g.LatSumNs, w.LatSumNs)
		}
		if g.LatCount > 0 && g.AvgNs != w.AvgNs && g.AvgNs != g.LatSumNs/g.LatCount {
			t.Fatalf("%s %s: mean %d, neither the true %d nor its sum's", where, w.Name, g.AvgNs, w.AvgNs)
		}
		g.LatSumNs, g.AvgNs = w.LatSumNs, w.AvgNs
	}
	out := *got
	out.Syscalls = slices.Clone(got.Syscalls)
	for i := range out.Syscalls {
		if i < len(want.Syscalls) {
			fix("system-wide", &want.Syscalls[i], &out.Syscalls[i])
		}
	}
	out.Processes = slices.Clone(got.Processes)
	for i := range out.Processes {
		p, w := &out.Processes[i], truth[out.Processes[i].ID]
		if w == nil || len(w.Syscalls) != len(p.Syscalls) {
			continue // a difference deepDiff reports
		}
		if diff := int64(p.LatSumNs - w.LatSumNs); diff <= -coarseNs*int64(len(p.Syscalls)+1) || diff >= coarseNs*int64(len(p.Syscalls)+1) {
			t.Fatalf("process %v: latency sum %d, true %d", p.ID, p.LatSumNs, w.LatSumNs)
		}
		p.LatSumNs = w.LatSumNs
		p.Syscalls = slices.Clone(p.Syscalls)
		for j := range p.Syscalls {
			fix(fmt.Sprint("process ", p.ID), &w.Syscalls[j], &p.Syscalls[j])
		}
	}
	return &out
}

// checkShared fails when a process that did not change has its syscalls or
// histograms copied rather than shared.
func checkShared(t *testing.T, prev, next *model.Snapshot) {
	t.Helper()
	old := map[model.ProcID]*model.ProcStat{}
	for i := range prev.Processes {
		old[prev.Processes[i].ID] = &prev.Processes[i]
	}
	for i := range next.Processes {
		p, q := old[next.Processes[i].ID], &next.Processes[i]
		if p == nil || len(p.Syscalls) == 0 || !sameList(&syscallElem, p.Syscalls, q.Syscalls) {
			continue
		}
		if &p.Syscalls[0] != &q.Syscalls[0] {
			t.Fatalf("process %d: its unchanged syscalls were copied", q.ID.PID)
		}
	}
	for i := range next.Processes {
		p := old[next.Processes[i].ID]
		if p == nil {
			continue
		}
		for _, s := range next.Processes[i].Syscalls {
			for _, o := range p.Syscalls {
				if o.Nr == s.Nr && o.Hist != nil && s.Hist != nil && *o.Hist == *s.Hist && o.Hist != s.Hist {
					t.Fatalf("process %d, syscall %d: its unchanged histogram was copied", p.ID.PID, s.Nr)
				}
			}
		}
	}
}

// chaos returns a copy of s changed in ways the aggregator does not make but
// a snapshot allows: unsorted and duplicated elements, nil against empty
// lists and histograms, odd floats, times and addresses, extreme values.
// What it changes it copies: s and what it shares stay as they were.
func chaos(rng *rand.Rand, s *model.Snapshot) *model.Snapshot {
	c := *s
	c.Processes = slices.Clone(s.Processes)
	procs := c.Processes
	pick := func() *model.ProcStat {
		if len(procs) == 0 {
			return nil
		}
		return &procs[rng.IntN(len(procs))]
	}
	for range 1 + rng.IntN(4) {
		switch rng.IntN(16) {
		case 0:
			rng.Shuffle(len(procs), func(i, j int) { procs[i], procs[j] = procs[j], procs[i] })
		case 1:
			if p := pick(); p != nil {
				c.Processes = append(c.Processes, *p) // a duplicate
				procs = c.Processes
			}
		case 2:
			c.Files = []model.FileStat{}
			c.Endpoints = nil
		case 3:
			if p := pick(); p != nil {
				p.Syscalls = []model.SyscallStat{}
			}
		case 4:
			if p := pick(); p != nil && len(p.Syscalls) > 0 {
				p.Syscalls = slices.Clone(p.Syscalls)
				p.Syscalls[0].Hist = nil
				p.Syscalls[len(p.Syscalls)-1].Hist = new(model.Hist)
				p.Syscalls[0].Errnos = []model.ErrnoCount{}
			}
		case 5:
			c.Totals.CallRate, c.IO.SendRate = math.NaN(), math.Copysign(0, -1)
			if p := pick(); p != nil {
				p.CallRate, p.IO.RecvRate = math.Inf(1), math.Float64frombits(0x7ff8000000000001)
			}
		case 6:
			c.At = time.Time{}
			if p := pick(); p != nil {
				p.ExitedAt = time.Unix(0, 0)
			}
		case 7:
			c.Totals.Calls, c.PendingCalls, c.Lost.ByCause[model.LossReturnMissed] = math.MaxUint64, math.MinInt64, 1<<63
			if p := pick(); p != nil {
				p.ExitCode, p.ExitSignal, p.ID.Start = -1, math.MaxInt, math.MaxUint64
			}
		case 8:
			if p := pick(); p != nil {
				p.Comm, p.Exe, p.Cmdline, p.V1Cgroup = "\xff\xfe\x00", "", "a\nb\x1b[31m", "name=systemd:/x"
			}
		case 9:
			c.Conns = append([]model.TCPConn{
				{Local: netip.MustParseAddrPort("[fe80::1%eth0]:22"), Remote: netip.AddrPort{}, State: "closed"},
				{Local: netip.MustParseAddrPort("[::ffff:10.0.0.1]:80"), Remote: netip.MustParseAddrPort("1.2.3.4:5"), Time: time.Unix(1, 2)},
			}, s.Conns...)
			c.Conns = append(c.Conns, c.Conns[0]) // a duplicate
		case 10:
			c.Processes, procs = nil, nil
		case 11:
			c.Syscalls = slices.Clone(s.Syscalls)
			rng.Shuffle(len(c.Syscalls), func(i, j int) { c.Syscalls[i], c.Syscalls[j] = c.Syscalls[j], c.Syscalls[i] })
		case 12:
			if p := pick(); p != nil && len(p.Syscalls) > 1 {
				p.Syscalls = slices.Clone(p.Syscalls)
				p.Syscalls[0].Nr = p.Syscalls[1].Nr // two of one number
				p.Syscalls[1].P99Ns, p.Syscalls[1].AvgNs, p.Syscalls[1].ErrorRate = 7, 3, -1
			}
		case 13:
			c.Files = append(slices.Clone(s.Files), model.FileStat{Path: "/dup", Opens: 1}, model.FileStat{Path: "/dup", Opens: 1})
		case 14:
			c.Interval = 0 // no rates can be predicted
		case 15:
			c.Syscalls = nil
			c.Conns = []model.TCPConn{}
		}
	}
	return &c
}

func TestChaoticSnapshotsRoundTripExactly(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		w := newWorkload(seed, 60, 0.5)
		var prev, rebuilt *model.Snapshot
		for i := range 60 {
			next := w.next()
			if rng.IntN(2) == 0 {
				next = chaos(rng, next)
			}
			if d := deepDiff(next, mustApply(t, nil, AppendDelta(nil, nil, next))); d != "" {
				t.Fatalf("seed %d, keyframe %d: %s", seed, i, d)
			}
			if prev != nil {
				before := fingerprint(rebuilt)
				got := mustApply(t, rebuilt, AppendDelta(nil, prev, next))
				if d := deepDiff(next, got); d != "" {
					t.Fatalf("seed %d, delta %d: %s", seed, i, d)
				}
				if !bytes.Equal(before, fingerprint(rebuilt)) {
					t.Fatalf("seed %d, delta %d: applying it modified the previous snapshot", seed, i)
				}
				rebuilt = got
			} else {
				rebuilt = mustApply(t, nil, AppendDelta(nil, nil, next))
			}
			prev = next
		}
	}
}

// Where prev and next differ but a delta is applied to a different
// snapshot, the result is wrong but well formed; what the decoder refuses is
// a delta without any snapshot, and frames of another format.
func TestFramesAreRefusedWhereTheyCannotApply(t *testing.T) {
	w := newWorkload(3, 20, 0.5)
	a, b := w.next(), w.next()
	delta := AppendDelta(nil, a, b)
	if IsKeyframe(delta) || !IsKeyframe(AppendDelta(nil, nil, b)) {
		t.Fatal("IsKeyframe is wrong")
	}
	if _, err := ApplyDelta(nil, delta); !errors.Is(err, errNoPrev) {
		t.Errorf("a delta without its snapshot: %v", err)
	}
	future := slices.Clone(delta)
	future[0] = formatVersion + 1
	if _, err := ApplyDelta(a, future); err == nil {
		t.Error("a frame of a later format was read")
	}
	// Format 1 (a recording of an earlier tlmon) had no coarse deltas.
	old := slices.Clone(delta)
	old[0] = 1
	if got, err := ApplyDelta(a, old); err != nil || deepDiff(b, got) != "" {
		t.Errorf("a frame of format 1: %v", err)
	}
	old = AppendCoarseDelta(nil, a, b)
	old[0] = 1
	if _, err := ApplyDelta(a, old); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a coarse delta of format 1: %v", err)
	}
	if _, err := ApplyDelta(a, append(slices.Clone(delta), 0)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("trailing bytes: %v", err)
	}
	for n := range len(delta) {
		if _, err := ApplyDelta(a, delta[:n]); err == nil {
			t.Fatalf("a delta cut at %d of %d bytes was read", n, len(delta))
		}
	}
}

func TestAppendDeltaAppends(t *testing.T) {
	w := newWorkload(4, 10, 0.5)
	s := w.next()
	got := AppendDelta([]byte("head"), nil, s)
	if string(got[:4]) != "head" || !bytes.Equal(got[4:], AppendDelta(nil, nil, s)) {
		t.Error("AppendDelta did not append to dst")
	}
}

// fuzzBase is the snapshot the fuzzed deltas apply to.
func fuzzBase() (*model.Snapshot, *model.Snapshot) {
	w := newWorkload(5, 8, 0.6)
	w.next()
	a := w.next()
	return a, w.next()
}

// FuzzApplyDelta feeds arbitrary bytes to ApplyDelta: an error or a
// snapshot, never a panic, and never more memory than the bytes allow.
func FuzzApplyDelta(f *testing.F) {
	a, b := fuzzBase()
	f.Add(AppendDelta(nil, nil, a))
	f.Add(AppendDelta(nil, a, b))
	f.Add(AppendDelta(nil, a, chaos(rand.New(rand.NewPCG(1, 2)), b)))
	f.Add([]byte{formatVersion, kindDelta, 0, 0, listOps, 200})
	f.Add(AppendCoarseDelta(nil, a, b))
	random := new(model.Snapshot)
	fillRandom(rand.New(rand.NewPCG(3, 3)), reflect.ValueOf(random).Elem())
	f.Add(AppendDelta(nil, a, random))
	f.Fuzz(func(t *testing.T, frame []byte) {
		s, err := ApplyDelta(a, frame)
		if err != nil {
			return
		}
		// Whatever it decodes encodes again.
		again := mustApply(t, a, AppendDelta(nil, a, s))
		if len(again.Processes) != len(s.Processes) {
			t.Fatalf("%d processes, %d once encoded again", len(s.Processes), len(again.Processes))
		}
	})
}

// fillRandom sets every field v holds, however deep, to a random value:
// slices nil, empty or of a few elements, pointers nil or set. A field added
// to the model that the codec does not write fails the test below.
func fillRandom(rng *rand.Rand, v reflect.Value) {
	switch v.Type() {
	case reflect.TypeFor[time.Time]():
		if rng.IntN(4) > 0 {
			v.Set(reflect.ValueOf(time.Unix(0, rng.Int64())))
		} else {
			v.Set(reflect.ValueOf(time.Time{}))
		}
		return
	case reflect.TypeFor[netip.AddrPort]():
		addrs := []string{"10.1.2.3", "::1", "fe80::1%eth0", "::ffff:1.2.3.4"}
		var a netip.AddrPort
		if i := rng.IntN(len(addrs) + 1); i < len(addrs) {
			a = netip.AddrPortFrom(netip.MustParseAddr(addrs[i]), uint16(rng.Uint32()))
		}
		v.Set(reflect.ValueOf(a))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fillRandom(rng, v.Field(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			fillRandom(rng, v.Index(i))
		}
	case reflect.Slice:
		switch n := rng.IntN(5); n {
		case 0:
			v.SetZero()
		default:
			v.Set(reflect.MakeSlice(v.Type(), n-1, n-1))
			for i := range n - 1 {
				fillRandom(rng, v.Index(i))
			}
		}
	case reflect.Pointer:
		if rng.IntN(3) == 0 {
			v.SetZero()
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fillRandom(rng, v.Elem())
	case reflect.String:
		v.SetString(string(rune('a'+rng.IntN(3))) + []string{"", "\xff", "x/y"}[rng.IntN(3)])
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(rng.Uint64()) >> rng.IntN(64))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(rng.Uint64() >> rng.IntN(64))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(math.Float64frombits(rng.Uint64()))
	default:
		panic("fillRandom: a field of kind " + v.Kind().String() + ": teach the codec and this filler")
	}
}

// Every field of every struct in a snapshot round-trips, whatever its value:
// one the codec forgot, or a field added to the model later, fails here.
func TestEveryFieldRoundTrips(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	var prev *model.Snapshot
	for i := range 3000 {
		next := new(model.Snapshot)
		fillRandom(rng, reflect.ValueOf(next).Elem())
		if d := deepDiff(next, mustApply(t, nil, AppendDelta(nil, nil, next))); d != "" {
			t.Fatalf("keyframe %d: Snapshot%s", i, d)
		}
		if prev != nil {
			if d := deepDiff(next, mustApply(t, prev, AppendDelta(nil, prev, next))); d != "" {
				t.Fatalf("delta %d: Snapshot%s", i, d)
			}
		}
		prev = next
	}
}
