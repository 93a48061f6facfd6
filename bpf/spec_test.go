package bpf

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
)

// helperSince is the kernel that brought each helper the objects call. A new
// helper fails TestEachRungUsesOnlyWhatItsKernelsHave until it is here, so
// someone looks up its version before a rung uses it.
var helperSince = map[asm.BuiltinFunc]kernelVersion{
	asm.FnMapLookupElem:          {3, 19},
	asm.FnMapUpdateElem:          {3, 19},
	asm.FnMapDeleteElem:          {3, 19},
	asm.FnProbeRead:              {4, 1},
	asm.FnKtimeGetNs:             {4, 1},
	asm.FnGetSmpProcessorId:      {4, 1},
	asm.FnGetCurrentPidTgid:      {4, 2},
	asm.FnGetCurrentComm:         {4, 2},
	asm.FnPerfEventOutput:        {4, 4},
	asm.FnCurrentTaskUnderCgroup: {4, 9},
	asm.FnGetCurrentCgroupId:     {4, 18},
	asm.FnProbeReadUser:          {5, 5},
	asm.FnProbeReadKernel:        {5, 5},
	asm.FnProbeReadUserStr:       {5, 5},
	asm.FnProbeReadKernelStr:     {5, 5},
	asm.FnGetCurrentTask:         {4, 8},
	asm.FnRingbufOutput:          {5, 8},
	asm.FnRingbufQuery:           {5, 8},
	asm.FnTaskStorageGet:         {5, 11},
	asm.FnTaskStorageDelete:      {5, 11},
	asm.FnGetCurrentTaskBtf:      {5, 11},
}

// mapTypeSince is the kernel that brought each map type.
var mapTypeSince = map[ebpf.MapType]kernelVersion{
	ebpf.Hash:           {3, 19},
	ebpf.Array:          {3, 19},
	ebpf.PerfEventArray: {4, 3},
	ebpf.PerCPUHash:     {4, 6},
	ebpf.PerCPUArray:    {4, 6},
	ebpf.CGroupArray:    {4, 8},
	ebpf.LRUHash:        {4, 10},
	ebpf.RingBuf:        {5, 8},
	ebpf.TaskStorage:    {5, 11},
}

type kernelVersion struct{ major, minor int }

func (v kernelVersion) after(o kernelVersion) bool {
	return v.major > o.major || v.major == o.major && v.minor > o.minor
}

// rungObjects are what each rung loads, checked without a kernel: the
// programs of an object for its oldest kernel, as Go loads them there.
var rungObjects = []struct {
	rungs    string
	load     func() (*ebpf.CollectionSpec, error)
	programs func(name string) bool // nil: all
	prepare  func(*ebpf.CollectionSpec)
	oldest   kernelVersion // the oldest kernel the object is for
	// maxInsns is the most instructions a program may have there (4,096
	// before 5.2); legacy forbids what its kernels lack: CO-RE, global data,
	// bpf-to-bpf calls (4.16), loops (5.3) and the jumps of -mcpu=v2 (4.14).
	maxInsns int
	legacy   bool
	pointers bool // check what verifiers before 4.9 refused (checkPointers)
}{
	// The modern object's task storage helpers (5.11) are behind load-time
	// constants the verifier prunes on 5.10: `make kernels` proves that part.
	{"1, 2", loadTlmon, nil, nil, kernelVersion{5, 11}, 1_000_000, false, false},
	{"3, 4", loadLegacy, nil, nil, kernelVersion{4, 7}, 4096, true, false},
	{"3, 4 before 4.9", loadLegacy, isBefore49Program, nil, kernelVersion{4, 7}, 4096, true, true},
	{"4 on 4.4", loadLegacy, is44Program, withoutPerCPUMaps, kernelVersion{4, 4}, 4096, true, true},
}

// is44Program says whether a legacy program is one Go loads on 4.4 (no
// tracepoint programs).
func is44Program(name string) bool {
	return name == "kp_sys_enter_old" || name == "kp_sys_exit_old" || name == "kp_fork_return" || name == "kp_do_exit"
}

// isBefore49Program says whether a legacy program is one Go loads before
// 4.9: the _old hooks and every lifecycle program.
func isBefore49Program(name string) bool {
	return strings.HasSuffix(name, "_old") || strings.HasPrefix(name, "tp_sched_") || is44Program(name)
}

func TestEachRungUsesOnlyWhatItsKernelsHave(t *testing.T) {
	for _, o := range rungObjects {
		t.Run("rungs "+o.rungs, func(t *testing.T) {
			spec, err := o.load()
			if err != nil {
				t.Fatal(err)
			}
			if o.prepare != nil {
				o.prepare(spec)
			}
			for name, m := range spec.Maps {
				if strings.HasPrefix(name, ".") && o.legacy {
					t.Errorf("map %s: global data (5.2)", name)
					continue
				}
				since, ok := mapTypeSince[m.Type]
				switch {
				case strings.HasPrefix(name, "."):
				case !ok:
					t.Errorf("map %s: type %v is not in mapTypeSince", name, m.Type)
				case since.after(o.oldest):
					t.Errorf("map %s: type %v needs %d.%d, the rungs are for %d.%d", name, m.Type, since.major, since.minor, o.oldest.major, o.oldest.minor)
				}
			}
			for name, p := range spec.Programs {
				if o.programs != nil && !o.programs(name) {
					continue
				}
				if n := len(p.Instructions); n > o.maxInsns {
					t.Errorf("program %s: %d instructions, more than %d", name, n, o.maxInsns)
				}
				for i, ins := range p.Instructions {
					checkInstruction(t, name, i, ins, o.oldest, o.legacy)
				}
				if o.legacy {
					if from, to, ok := findLoop(p.Instructions); ok {
						t.Errorf("program %s: a loop, from instruction %d back to %d (5.3)", name, from, to)
					}
				}
				if o.pointers {
					for _, e := range checkPointers(p.Instructions) {
						t.Errorf("program %s: %s", name, e)
					}
				}
			}
		})
	}
}

func checkInstruction(t *testing.T, prog string, i int, ins asm.Instruction, oldest kernelVersion, legacy bool) {
	t.Helper()
	if ins.IsBuiltinCall() {
		fn := asm.BuiltinFunc(ins.Constant)
		since, ok := helperSince[fn]
		switch {
		case !ok:
			t.Errorf("program %s calls %v, which is not in helperSince", prog, fn)
		case since.after(oldest):
			t.Errorf("program %s calls %v, which needs %d.%d", prog, fn, since.major, since.minor)
		}
	}
	if !legacy {
		return
	}
	if btf.CORERelocationMetadata(&ins) != nil {
		t.Errorf("program %s, instruction %d: a CO-RE relocation (%v)", prog, i, ins)
	}
	if ins.IsFunctionCall() {
		t.Errorf("program %s, instruction %d: a bpf-to-bpf call (4.16)", prog, i)
	}
	op := ins.OpCode
	if op.Class() == asm.Jump32Class {
		t.Errorf("program %s, instruction %d: a 32-bit jump (5.1)", prog, i)
	}
	if op.Class().IsJump() {
		switch op.JumpOp() {
		case asm.JLT, asm.JLE, asm.JSLT, asm.JSLE:
			t.Errorf("program %s, instruction %d: %v (4.14)", prog, i, ins)
		}
	}
}

// findLoop finds a cycle in a program's control flow, as verifiers before 5.3
// do (a jump backwards is no loop unless it closes a cycle). It returns the
// jump that closes it and where it goes, in instruction indexes.
func findLoop(insns asm.Instructions) (from, to int, found bool) {
	target := jumpTargets(insns)
	next := func(i int) []int {
		ins := insns[i]
		op := ins.OpCode
		if !op.Class().IsJump() || op.JumpOp() == asm.Call {
			return []int{i + 1}
		}
		if op.JumpOp() == asm.Exit {
			return nil
		}
		if op.JumpOp() == asm.Ja {
			return []int{target(i)}
		}
		return []int{i + 1, target(i)}
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]int, len(insns))
	var walk func(i int) bool
	walk = func(i int) bool {
		state[i] = onPath
		for _, n := range next(i) {
			if n >= len(insns) {
				continue
			}
			if state[n] == onPath {
				from, to = i, n
				return true
			}
			if state[n] == unseen && walk(n) {
				return true
			}
		}
		state[i] = done
		return false
	}
	return from, to, walk(0)
}

// jumpTargets returns where the jump at instruction i goes, as an
// instruction index: jump offsets count 8-byte slots, and a 64-bit load takes
// two.
func jumpTargets(insns asm.Instructions) func(i int) int {
	index := map[int]int{} // slot -> instruction
	slots := make([]int, len(insns))
	slot := 0
	for i, ins := range insns {
		index[slot], slots[i] = i, slot
		slot += int(ins.Size() / asm.InstructionSize)
	}
	return func(i int) int { return index[slots[i]+1+int(insns[i].Offset)] }
}

func TestFindLoopFindsOnlyCycles(t *testing.T) {
	back := asm.JNE.Imm(asm.R0, 10, "")
	back.Offset = -2 // to the add: a loop
	loop := asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Add.Imm(asm.R0, 1), back, asm.Return()}
	if from, to, ok := findLoop(loop); !ok || from != 2 || to != 1 {
		t.Errorf("findLoop(a loop) = %d, %d, %v; want 2, 1, true", from, to, ok)
	}
	// A jump backwards that closes no cycle: 0 -> 3 -> 1 -> exit.
	fwd := asm.Ja.Label("")
	fwd.Offset = 2
	bwd := asm.Ja.Label("")
	bwd.Offset = -3
	dag := asm.Instructions{fwd, asm.Return(), asm.Return(), bwd}
	if from, to, ok := findLoop(dag); ok {
		t.Errorf("findLoop(no loop) found one from %d to %d", from, to)
	}
}

// A pointerKind is what the checker below knows a register or stack slot
// holds.
type pointerKind int

const (
	unknown pointerKind = iota
	scalar
	ctxPointer
	stackPointer
	mapValue
	mapValueOrNull
)

// join is what a value is where two paths meet.
func (k pointerKind) join(o pointerKind) pointerKind {
	switch {
	case k == o:
		return k
	case k == mapValue && o == mapValueOrNull || k == mapValueOrNull && o == mapValue:
		return mapValueOrNull
	}
	return unknown
}

// pointerState is the kinds of the registers and 8-byte stack slots.
type pointerState struct {
	regs  [11]pointerKind
	slots [64]pointerKind // by offset below the frame pointer / 8
}

func (s *pointerState) join(o *pointerState) (changed bool) {
	for i := range s.regs {
		if j := s.regs[i].join(o.regs[i]); j != s.regs[i] {
			s.regs[i], changed = j, true
		}
	}
	for i := range s.slots {
		if j := s.slots[i].join(o.slots[i]); j != s.slots[i] {
			s.slots[i], changed = j, true
		}
	}
	return changed
}

// helperPointerArgs are the helpers' memory arguments that old verifiers
// took only on the stack (before 4.10 for probe_read, get_current_comm and
// perf_event_output; map keys and values too).
var helperPointerArgs = map[asm.BuiltinFunc][]asm.Register{
	asm.FnMapLookupElem:   {asm.R2},
	asm.FnMapUpdateElem:   {asm.R2, asm.R3},
	asm.FnMapDeleteElem:   {asm.R2},
	asm.FnProbeRead:       {asm.R1},
	asm.FnGetCurrentComm:  {asm.R1},
	asm.FnPerfEventOutput: {asm.R4},
}

// checkPointers does what verifiers before 4.9 did with pointers, on a
// program without loops: a map value may be indexed by constants only, the
// stack too, and helpers read and write memory on the stack only. It
// returns what they would refuse.
func checkPointers(insns asm.Instructions) []string {
	target := jumpTargets(insns)
	states := make([]*pointerState, len(insns))
	start := &pointerState{}
	start.regs[asm.R1], start.regs[asm.R10] = ctxPointer, stackPointer
	states[0] = start
	var errs []string
	seen := map[string]bool{}
	fail := func(i int, format string, args ...any) {
		e := fmt.Sprintf("instruction %d (%v): ", i, insns[i]) + fmt.Sprintf(format, args...)
		if !seen[e] {
			seen[e] = true
			errs = append(errs, e)
		}
	}
	flow := func(to int, st *pointerState, work *[]int) {
		if to >= len(insns) {
			return
		}
		if states[to] == nil {
			cp := *st
			states[to] = &cp
			*work = append(*work, to)
		} else if states[to].join(st) {
			*work = append(*work, to)
		}
	}
	work := []int{0}
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		st := *states[i]
		ins := insns[i]
		op := ins.OpCode
		dst, src := ins.Dst, ins.Src
		switch {
		case op.Class().IsALU():
			switch {
			case op.ALUOp() == asm.Mov && op.Source() == asm.RegSource:
				st.regs[dst] = st.regs[src]
			case op.ALUOp() == asm.Mov:
				st.regs[dst] = scalar
			case (op.ALUOp() == asm.Add || op.ALUOp() == asm.Sub) && op.Source() == asm.ImmSource:
				// a constant offset keeps the pointer
			case (op.ALUOp() == asm.Add || op.ALUOp() == asm.Sub) && (st.regs[dst] == mapValue || st.regs[dst] == stackPointer):
				fail(i, "a %v indexed by a variable (4.9)", kindName[st.regs[dst]])
				st.regs[dst] = unknown
			default:
				st.regs[dst] = scalar
			}
		case op.Class().IsLoad():
			if op.Mode() == asm.MemMode && st.regs[src] == stackPointer && ins.Offset <= -8 && ins.Offset%8 == 0 && op.Size() == asm.DWord {
				st.regs[dst] = st.slots[stackSlot(ins.Offset)]
			} else {
				st.regs[dst] = scalar
			}
		case op.Class().IsStore():
			if st.regs[dst] == stackPointer && ins.Offset < 0 {
				k := scalar
				if op.Class() == asm.StXClass && op.Size() == asm.DWord && ins.Offset%8 == 0 {
					k = st.regs[src]
				}
				st.slots[stackSlot(ins.Offset)] = k
			}
		case op.JumpOp() == asm.Call && ins.IsBuiltinCall():
			fn := asm.BuiltinFunc(ins.Constant)
			for _, r := range helperPointerArgs[fn] {
				if st.regs[r] != stackPointer {
					fail(i, "%v takes %v from a %s, not the stack (4.10)", fn, r, kindName[st.regs[r]])
				}
			}
			for r := asm.R1; r <= asm.R5; r++ {
				st.regs[r] = unknown
			}
			st.regs[asm.R0] = scalar
			if fn == asm.FnMapLookupElem {
				st.regs[asm.R0] = mapValueOrNull
			}
		}
		if !op.Class().IsJump() || op.JumpOp() == asm.Call {
			flow(i+1, &st, &work)
			continue
		}
		if op.JumpOp() == asm.Exit {
			continue
		}
		if op.JumpOp() == asm.Ja {
			flow(target(i), &st, &work)
			continue
		}
		taken, through := st, st
		if st.regs[dst] == mapValueOrNull && op.Source() == asm.ImmSource && ins.Constant == 0 {
			switch op.JumpOp() {
			case asm.JEq:
				through.regs[dst] = mapValue
			case asm.JNE:
				taken.regs[dst] = mapValue
			}
		}
		flow(target(i), &taken, &work)
		flow(i+1, &through, &work)
	}
	return errs
}

// stackSlot is the 8-byte slot of the frame that offset (negative) is in.
func stackSlot(offset int16) int { return int(-offset-1) / 8 % 64 }

var kindName = map[pointerKind]string{
	unknown: "value of unknown kind", scalar: "number", ctxPointer: "context pointer",
	stackPointer: "stack pointer", mapValue: "map value", mapValueOrNull: "map value or NULL",
}

func TestCheckPointersRefusesWhatOldVerifiersDid(t *testing.T) {
	lookup := asm.Instructions{
		asm.Mov.Reg(asm.R2, asm.R10), asm.Add.Imm(asm.R2, -8), asm.StoreImm(asm.R10, -8, 0, asm.Word),
		asm.LoadMapPtr(asm.R1, 0), asm.FnMapLookupElem.Call(),
	}
	ok := append(slices.Clone(lookup), asm.JEq.Imm(asm.R0, 0, "out"), asm.LoadMem(asm.R1, asm.R0, 8, asm.DWord),
		asm.Mov.Imm(asm.R0, 0).WithSymbol("out"), asm.Return())
	indexed := append(slices.Clone(lookup), asm.JEq.Imm(asm.R0, 0, "out"), asm.Mov.Reg(asm.R3, asm.R0),
		asm.LoadMem(asm.R1, asm.R3, 0, asm.DWord), asm.Add.Reg(asm.R3, asm.R1), asm.Mov.Imm(asm.R0, 0).WithSymbol("out"), asm.Return())
	fromMap := append(slices.Clone(lookup), asm.JEq.Imm(asm.R0, 0, "out"), asm.Mov.Reg(asm.R1, asm.R0), asm.Mov.Imm(asm.R2, 16),
		asm.FnGetCurrentComm.Call(), asm.Mov.Imm(asm.R0, 0).WithSymbol("out"), asm.Return())
	for _, c := range []struct {
		name  string
		insns asm.Instructions
		want  string
	}{
		{"a map value read at a constant", ok, ""},
		{"a map value indexed by a variable", indexed, "indexed by a variable"},
		{"a helper writing a map value", fromMap, "not the stack"},
	} {
		insns := c.insns
		if err := insns.Marshal(io.Discard, binary.LittleEndian); err != nil { // resolves the jumps
			t.Fatal(err)
		}
		errs := checkPointers(insns)
		if c.want == "" && len(errs) > 0 || c.want != "" && (len(errs) != 1 || !strings.Contains(errs[0], c.want)) {
			t.Errorf("%s: %q, want one error saying %q", c.name, errs, c.want)
		}
	}
}
