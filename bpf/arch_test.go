package bpf

import (
	"bytes"
	"debug/elf"
	"embed"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"tlmon/syscalls"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// The objects of every architecture bpf2go builds (gen.go), checked without a
// kernel on any machine: CI runs on amd64, where the arm64 objects are never
// loaded, so what can be known of them from the files is checked here.

// objectArchs are the architectures the objects are built for: the Go name
// (model's tables) and bpf2go's file suffix.
var objectArchs = []struct{ goarch, suffix string }{
	{"amd64", "x86_bpfel"},
	{"arm64", "arm64_bpfel"},
}

// objectNames are the objects of gen.go.
var objectNames = []string{"tlmon", "legacy"}

// generated holds the committed objects and Go of every architecture: the
// build embeds only its own architecture's object, and the test binary runs
// without the source tree too (make kernels runs it inside a VM).
//
//go:embed *_bpfel.o *_bpfel.go
var generated embed.FS

// readObject returns the bytes of object name (tlmon, legacy) built for the
// architecture of bpf2go suffix.
func readObject(t *testing.T, name, suffix string) []byte {
	t.Helper()
	b, err := generated.ReadFile(name + "_" + suffix + ".o")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadObject(t *testing.T, name, suffix string) *ebpf.CollectionSpec {
	t.Helper()
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(readObject(t, name, suffix)))
	if err != nil {
		t.Fatalf("%s_%s.o: %v", name, suffix, err)
	}
	return spec
}

// TestGeneratedGoIsTheSameOnEveryArch: the Go bpf2go writes for each
// architecture differs only in its build constraint and the object it embeds,
// so the loader's types (event, counts, keys, settings) have one layout.
func TestGeneratedGoIsTheSameOnEveryArch(t *testing.T) {
	for _, name := range objectNames {
		var first string
		for i, a := range objectArchs {
			b, err := generated.ReadFile(name + "_" + a.suffix + ".go")
			if err != nil {
				t.Fatal(err)
			}
			var kept []string
			for line := range strings.Lines(string(b)) {
				if strings.HasPrefix(line, "//go:build ") || strings.HasPrefix(line, "//go:embed ") {
					continue
				}
				kept = append(kept, line)
			}
			text := strings.Join(kept, "")
			if i == 0 {
				first = text
			} else if text != first {
				t.Errorf("%s_%s.go differs from %s_%s.go beyond its build line and embed", name, a.suffix, name, objectArchs[0].suffix)
			}
		}
	}
}

// TestObjectsOfEveryArchMatch: each architecture's object has the programs,
// maps and variables of the x86 one, of the same kinds and sizes, which is
// what the loader (tested on x86) relies on.
func TestObjectsOfEveryArchMatch(t *testing.T) {
	for _, name := range objectNames {
		ref := loadObject(t, name, objectArchs[0].suffix)
		for _, a := range objectArchs[1:] {
			t.Run(name+"_"+a.suffix, func(t *testing.T) {
				spec := loadObject(t, name, a.suffix)
				compareObjects(t, ref, spec)
			})
		}
	}
}

func compareObjects(t *testing.T, ref, spec *ebpf.CollectionSpec) {
	t.Helper()
	sameKeys(t, "programs", ref.Programs, spec.Programs)
	for n, rp := range ref.Programs {
		p := spec.Programs[n]
		if p == nil {
			continue
		}
		if p.Type != rp.Type || p.AttachType != rp.AttachType || p.SectionName != rp.SectionName || p.AttachTo != rp.AttachTo || p.License != rp.License {
			t.Errorf("program %s: %v %v %q %q %q, x86's %v %v %q %q %q", n, p.Type, p.AttachType, p.SectionName, p.AttachTo, p.License,
				rp.Type, rp.AttachType, rp.SectionName, rp.AttachTo, rp.License)
		}
		if len(p.Instructions) == 0 {
			t.Errorf("program %s: no instructions", n)
		}
	}
	sameKeys(t, "maps", ref.Maps, spec.Maps)
	for n, rm := range ref.Maps {
		m := spec.Maps[n]
		if m == nil {
			continue
		}
		if m.Type != rm.Type || m.KeySize != rm.KeySize || m.ValueSize != rm.ValueSize || m.MaxEntries != rm.MaxEntries || m.Flags != rm.Flags {
			t.Errorf("map %s: %v key %d value %d entries %d flags %#x, x86's %v key %d value %d entries %d flags %#x", n,
				m.Type, m.KeySize, m.ValueSize, m.MaxEntries, m.Flags, rm.Type, rm.KeySize, rm.ValueSize, rm.MaxEntries, rm.Flags)
		}
	}
	sameKeys(t, "variables", ref.Variables, spec.Variables)
	for n, rv := range ref.Variables {
		v := spec.Variables[n]
		if v == nil {
			continue
		}
		if v.Size() != rv.Size() || v.Constant() != rv.Constant() || v.SectionName != rv.SectionName || !bytes.Equal(v.Value, rv.Value) {
			t.Errorf("variable %s: %d bytes in %s, %x at first; x86's %d in %s, %x", n, v.Size(), v.SectionName, v.Value,
				rv.Size(), rv.SectionName, rv.Value)
		}
	}
}

func sameKeys[V any](t *testing.T, what string, ref, got map[string]V) {
	t.Helper()
	for n := range ref {
		if _, ok := got[n]; !ok {
			t.Errorf("%s: %s missing (x86 has it)", what, n)
		}
	}
	for n := range got {
		if _, ok := ref[n]; !ok {
			t.Errorf("%s: %s, which x86 lacks", what, n)
		}
	}
}

// TestSyscallNumbersInObjectsMatchModel: the numbers each object was built
// with (shared.h's NR_*, in its .tlmon.nrs section as struct syscall_nrs)
// are those of model's table of its architecture; -1 where the table has no
// such call (fork and vfork on arm64). The section is no map: nothing loads it.
func TestSyscallNumbersInObjectsMatchModel(t *testing.T) {
	for _, a := range objectArchs {
		table, err := syscalls.TableFor(a.goarch)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range objectNames {
			t.Run(name+"_"+a.suffix, func(t *testing.T) {
				obj := readObject(t, name, a.suffix)
				spec := loadObject(t, name, a.suffix)
				for n := range spec.Maps {
					if strings.Contains(n, "tlmon.nrs") {
						t.Errorf("map %s: the numbers' section became a map", n)
					}
				}
				nrs := syscallNrs(t, obj, spec)
				if len(nrs) == 0 {
					t.Fatal("no syscall numbers")
				}
				for call, nr := range nrs {
					want := -1
					if s, ok := table.Lookup(call); ok {
						want = s.Nr
					}
					if nr != want {
						t.Errorf("%s: %d in the object, %d in model's %s table", call, nr, want, a.goarch)
					}
				}
			})
		}
	}
}

// syscallNrs reads struct syscall_nrs out of the object's .tlmon.nrs section:
// its members, named after the calls, by their BTF offsets.
func syscallNrs(t *testing.T, obj []byte, spec *ebpf.CollectionSpec) map[string]int {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	sec := f.Section(".tlmon.nrs")
	if sec == nil {
		t.Fatal("no .tlmon.nrs section")
	}
	data, err := sec.Data()
	if err != nil {
		t.Fatal(err)
	}
	var st *btf.Struct
	if err := spec.Types.TypeByName("syscall_nrs", &st); err != nil {
		t.Fatal(err)
	}
	if int(st.Size) != len(data) {
		t.Fatalf("struct syscall_nrs has %d bytes, its section %d", st.Size, len(data))
	}
	nrs := map[string]int{}
	for _, m := range st.Members {
		off := int(m.Offset.Bytes())
		if off+4 > len(data) {
			t.Fatalf("member %s at %d lies past the section", m.Name, off)
		}
		nrs[m.Name] = int(int32(binary.LittleEndian.Uint32(data[off:])))
	}
	return nrs
}

// TestObjectsReadTheirArchsRegisters: each object was built against its own
// architecture's vmlinux.h, so the pt_regs it reads (the syscall's number
// and arguments, a kprobe's registers) is that architecture's.
func TestObjectsReadTheirArchsRegisters(t *testing.T) {
	fields := map[string]struct{ has, lacks string }{
		"amd64": {"orig_ax", "syscallno"},
		"arm64": {"syscallno", "orig_ax"},
	}
	for _, a := range objectArchs {
		for _, name := range objectNames {
			t.Run(name+"_"+a.suffix, func(t *testing.T) {
				spec := loadObject(t, name, a.suffix)
				var regs *btf.Struct
				if err := spec.Types.TypeByName("pt_regs", &regs); err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, m := range regs.Members {
					names = append(names, m.Name)
				}
				want := fields[a.goarch]
				if !slices.Contains(names, want.has) || slices.Contains(names, want.lacks) {
					t.Errorf("struct pt_regs has %v: not %s's (want %s, not %s)", names, a.goarch, want.has, want.lacks)
				}
			})
		}
	}
}

// TestArm64RungsUseOnlyWhatTheirKernelsHave runs the checks of
// TestEachRungUsesOnlyWhatItsKernelsHave (helpers and map types by kernel
// version, instruction limits, and for legacy no CO-RE, global data, calls,
// loops, newer jumps or pointers old verifiers refused) on the arm64 objects.
func TestArm64RungsUseOnlyWhatTheirKernelsHave(t *testing.T) {
	saved := slices.Clone(rungObjects)
	defer func() { rungObjects = saved }()
	for i := range rungObjects {
		name := "tlmon"
		if rungObjects[i].legacy {
			name = "legacy"
		}
		rungObjects[i].load = func() (*ebpf.CollectionSpec, error) {
			b, err := generated.ReadFile(name + "_arm64_bpfel.o")
			if err != nil {
				return nil, err
			}
			return ebpf.LoadCollectionSpecFromReader(bytes.NewReader(b))
		}
	}
	TestEachRungUsesOnlyWhatItsKernelsHave(t)
}
