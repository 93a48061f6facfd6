package bpf

import (
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

// rungObjects are what each rung loads, checked without a kernel.
var rungObjects = []struct {
	rungs  string
	load   func() (*ebpf.CollectionSpec, error)
	oldest kernelVersion // the oldest kernel the object is for
	// maxInsns is the most instructions a program may have there (4,096
	// before 5.2); legacy forbids what its kernels lack: CO-RE, global data,
	// bpf-to-bpf calls (4.16), loops (5.3) and the jumps of -mcpu=v2 (4.14).
	maxInsns int
	legacy   bool
}{
	// The modern object's task storage helpers (5.11) are behind load-time
	// constants the verifier prunes on 5.10: `make kernels` proves that part.
	{"1, 2", loadTlmon, kernelVersion{5, 11}, 1_000_000, false},
	{"3, 4", loadLegacy, kernelVersion{4, 7}, 4096, true},
}

func TestEachRungUsesOnlyWhatItsKernelsHave(t *testing.T) {
	for _, o := range rungObjects {
		t.Run("rungs "+o.rungs, func(t *testing.T) {
			spec, err := o.load()
			if err != nil {
				t.Fatal(err)
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
	// Jump offsets count 8-byte slots; a 64-bit load takes two.
	index := map[int]int{} // slot -> instruction
	slots := make([]int, len(insns))
	slot := 0
	for i, ins := range insns {
		index[slot], slots[i] = i, slot
		slot += int(ins.Size() / asm.InstructionSize)
	}
	next := func(i int) []int {
		ins := insns[i]
		op := ins.OpCode
		if !op.Class().IsJump() || op.JumpOp() == asm.Call {
			return []int{i + 1}
		}
		if op.JumpOp() == asm.Exit {
			return nil
		}
		target := index[slots[i]+1+int(ins.Offset)]
		if op.JumpOp() == asm.Ja {
			return []int{target}
		}
		return []int{i + 1, target}
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
