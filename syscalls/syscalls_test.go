package syscalls

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"tlmon/model"
)

func mustTable(t *testing.T, arch string) *Table {
	t.Helper()
	tab, err := TableFor(arch)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestTableKnowsTheNumbersOfWellKnownSyscalls(t *testing.T) {
	tests := []struct {
		arch string
		name string
		nr   int
	}{
		{"amd64", "read", 0},
		{"amd64", "connect", 42},
		{"amd64", "execve", 59},
		{"amd64", "getppid", 110},
		{"amd64", "exit_group", 231},
		{"amd64", "openat", 257},
		{"amd64", "newfstatat", 262},
		{"amd64", "clone3", 435},
		{"arm64", "openat", 56},
		{"arm64", "read", 63},
		{"arm64", "newfstatat", 79},
		{"arm64", "getppid", 173},
		{"arm64", "execve", 221},
		{"arm64", "clone3", 435},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s_is_%d", tt.arch, tt.name, tt.nr), func(t *testing.T) {
			tab := mustTable(t, tt.arch)
			if got := tab.Name(tt.nr); got != tt.name {
				t.Errorf("Name(%d) = %q, want %q", tt.nr, got, tt.name)
			}
			s, ok := tab.Lookup(tt.name)
			if !ok || s.Nr != tt.nr || s.Name != tt.name {
				t.Errorf("Lookup(%q) = %+v, %v; want number %d", tt.name, s, ok, tt.nr)
			}
		})
	}
}

func TestSyscallsAreInStracesClasses(t *testing.T) {
	tests := []struct {
		name string
		want model.Class
	}{
		{"openat", model.ClassFile | model.ClassDesc},
		{"read", model.ClassDesc},
		{"write", model.ClassDesc},
		{"close", model.ClassDesc},
		{"pipe2", model.ClassDesc},
		{"getppid", model.ClassOther},
		{"getpid", model.ClassOther},
		{"execve", model.ClassFile | model.ClassProcess},
		{"socket", model.ClassNetwork},
		{"connect", model.ClassNetwork},
		{"accept4", model.ClassNetwork},
		{"clone", model.ClassProcess},
		{"clone3", model.ClassProcess},
		{"fork", model.ClassProcess},
		{"vfork", model.ClassProcess},
		{"exit", model.ClassProcess},
		{"exit_group", model.ClassProcess},
		{"wait4", model.ClassProcess},
		{"mmap", model.ClassDesc | model.ClassMemory},
		{"brk", model.ClassMemory},
		{"kill", model.ClassSignal | model.ClassProcess},
		{"tgkill", model.ClassSignal | model.ClassProcess},
		{"rt_sigaction", model.ClassSignal},
		{"rt_sigreturn", model.ClassSignal},
		{"nanosleep", model.ClassTime},
		{"clock_nanosleep", model.ClassTime},
		{"clock_gettime", model.ClassTime},
		{"timerfd_create", model.ClassDesc | model.ClassTime},
		{"setuid", model.ClassCreds},
		{"getuid", model.ClassCreds},
		{"shmget", model.ClassIPC},
		{"shmat", model.ClassIPC | model.ClassMemory},
		{"semop", model.ClassIPC},
		{"msgsnd", model.ClassIPC},
	}
	for _, arch := range []string{"amd64", "arm64"} {
		tab := mustTable(t, arch)
		for _, tt := range tests {
			t.Run(arch+"/"+tt.name+"_is_"+strings.ReplaceAll(tt.want.String(), ",", "_and_"), func(t *testing.T) {
				s, ok := tab.Lookup(tt.name)
				if !ok {
					if arch == "arm64" && (tt.name == "fork" || tt.name == "vfork") {
						t.Skipf("%s has no %s", arch, tt.name)
					}
					t.Fatalf("Lookup(%q) found nothing", tt.name)
				}
				if s.Classes != tt.want {
					t.Errorf("%s is in %q, want %q", tt.name, s.Classes, tt.want)
				}
				if got := tab.Classes(s.Nr); got != tt.want {
					t.Errorf("Classes(%d) = %q, want %q", s.Nr, got, tt.want)
				}
			})
		}
	}
}

func TestEveryTableIsWellFormed(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			tab := mustTable(t, arch)
			all := tab.All()
			if len(all) < 300 {
				t.Fatalf("only %d syscalls", len(all))
			}
			names := map[string]bool{}
			for i, s := range all {
				if s.Nr < 0 || s.Nr >= model.MaxSyscallNr {
					t.Errorf("%s has number %d, not in [0, model.MaxSyscallNr=%d)", s.Name, s.Nr, model.MaxSyscallNr)
				}
				if i > 0 && s.Nr <= all[i-1].Nr {
					t.Errorf("All is not sorted by number: %d after %d", s.Nr, all[i-1].Nr)
				}
				if names[s.Name] {
					t.Errorf("%s appears twice", s.Name)
				}
				names[s.Name] = true
				if s.Classes == 0 || s.Classes >= model.ClassOther<<1 {
					t.Errorf("%s has classes %#x", s.Name, uint16(s.Classes))
				}
				if s.Classes&model.ClassOther != 0 && s.Classes != model.ClassOther {
					t.Errorf("%s is in other and another class: %q", s.Name, s.Classes)
				}
				if tab.Name(s.Nr) != s.Name {
					t.Errorf("Name(%d) = %q, want %q", s.Nr, tab.Name(s.Nr), s.Name)
				}
			}
			if tab.MaxNr() != all[len(all)-1].Nr {
				t.Errorf("MaxNr() = %d, want %d", tab.MaxNr(), all[len(all)-1].Nr)
			}
			if tab.MaxNr() >= model.MaxSyscallNr {
				t.Errorf("MaxNr() = %d, not below model.MaxSyscallNr", tab.MaxNr())
			}
			if tab.Arch() != arch {
				t.Errorf("Arch() = %q", tab.Arch())
			}
			all[0].Name = "changed"
			if tab.All()[0].Name == "changed" {
				t.Error("All returns the table's own slice")
			}
		})
	}
}

func TestUnknownNumbersAreNamedByNumberAndClassedOther(t *testing.T) {
	amd64 := mustTable(t, "amd64")
	empty := newTable("mips", nil)
	tests := []struct {
		tab  *Table
		nr   int
		want string
	}{
		{amd64, 400, "syscall_400"}, // a gap in amd64's numbering
		{amd64, 510, "syscall_510"}, // 511 is model.CompatNr, named model.CompatName
		{amd64, 9999, "syscall_9999"},
		{amd64, -1, "syscall_-1"},
		{empty, 0, "syscall_0"},
		{empty, 257, "syscall_257"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.tab.Arch(), tt.nr), func(t *testing.T) {
			if got := tt.tab.Name(tt.nr); got != tt.want {
				t.Errorf("Name(%d) = %q, want %q", tt.nr, got, tt.want)
			}
			if got := tt.tab.Classes(tt.nr); got != model.ClassOther {
				t.Errorf("Classes(%d) = %q, want other", tt.nr, got)
			}
		})
	}
	if empty.MaxNr() != -1 || len(empty.All()) != 0 {
		t.Errorf("an empty table has MaxNr %d and %d syscalls", empty.MaxNr(), len(empty.All()))
	}
	if _, ok := empty.Lookup("read"); ok {
		t.Error("an empty table finds read")
	}
}

func TestTableForRejectsArchitecturesWithoutATable(t *testing.T) {
	for _, arch := range []string{"", "386", "riscv64", "x86_64"} {
		if tab, err := TableFor(arch); err == nil {
			t.Errorf("TableFor(%q) = %v, want an error", arch, tab.Arch())
		}
	}
}

func TestHostTableIsTheTableOfTheRunningArchitecture(t *testing.T) {
	host := HostTable()
	if host.Arch() != runtime.GOARCH {
		t.Errorf("HostTable().Arch() = %q, want %q", host.Arch(), runtime.GOARCH)
	}
	if tab, err := TableFor(runtime.GOARCH); err == nil && tab != host {
		t.Error("HostTable and TableFor(runtime.GOARCH) differ")
	}
	if HostTable() != host {
		t.Error("HostTable returns a new table on each call")
	}
}

func TestParseSyscallListResolvesNamesNumbersAndClasses(t *testing.T) {
	amd64 := mustTable(t, "amd64")
	var ipc []int
	for _, s := range amd64.All() {
		if s.Classes&model.ClassIPC != 0 {
			ipc = append(ipc, s.Nr)
		}
	}
	tests := []struct {
		name    string
		list    []string
		want    []int
		wantErr string
	}{
		{"names", []string{"openat", "read"}, []int{0, 257}, ""},
		{"numbers", []string{"59", "42"}, []int{42, 59}, ""},
		{"syscall_N as Name gives it", []string{"syscall_400"}, []int{400}, ""},
		{"duplicates once", []string{"read", "0", "read"}, []int{0}, ""},
		{"comma lists and blanks", []string{" read, write ", ""}, []int{0, 1}, ""},
		{"upper case names", []string{"OpenAt"}, []int{257}, ""},
		{"a class", []string{"%ipc"}, ipc, ""},
		{"a class alias and a name", []string{"%net", "read"}, nil, ""},
		{"nothing", nil, []int{}, ""},
		{"an unknown name", []string{"read", "foo"}, nil, `unknown syscall "foo"`},
		{"a name of another arch", []string{"renameat2x"}, nil, `unknown syscall "renameat2x"`},
		{"an unknown class", []string{"%files"}, nil, `unknown syscall class "%files"`},
		{"a number too big", []string{"512"}, nil, "out of range"},
		{"a negative number", []string{"-1"}, nil, "out of range"},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			got, err := ParseSyscallList(amd64, tt.list)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSyscallList(%q) = %v, %v; want error %q", tt.list, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSyscallList(%q): %v", tt.list, err)
			}
			if tt.want == nil { // checked below by property
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseSyscallList(%q) = %v, want %v", tt.list, got, tt.want)
			}
		})
	}

	got, err := ParseSyscallList(amd64, []string{"%net", "read"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(got) || !slices.Contains(got, 0) || !slices.Contains(got, 42) || !slices.Contains(got, 288) {
		t.Errorf("%%net,read = %v: want sorted, with read (0), connect (42) and accept4 (288)", got)
	}
	for _, nr := range got {
		if nr != 0 && amd64.Classes(nr)&model.ClassNetwork == 0 {
			t.Errorf("%%net,read selects %s, which is not network", amd64.Name(nr))
		}
	}

	arm, err := ParseSyscallList(mustTable(t, "arm64"), []string{"openat", "execve"})
	if err != nil || !slices.Equal(arm, []int{56, 221}) {
		t.Errorf("on arm64, openat,execve = %v, %v; want [56 221]", arm, err)
	}
}

func TestGeneratedTableIsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out := filepath.Join(t.TempDir(), "syscalls_table.go")
	cmd := exec.Command(gobin, "run", "./gen/syscalls", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./gen/syscalls: %v\n%s", err, b)
	} else if len(b) > 0 {
		t.Logf("generator says:\n%s", b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("syscalls_table.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want) {
		t.Error("syscalls_table.go is stale: run go generate ./model")
	}
}
