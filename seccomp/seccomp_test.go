package seccomp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tlmon/model"
	"tlmon/syscalls"
)

// stat is a system-wide syscall stat of arch's table.
func stat(t *testing.T, arch, name string, calls, errors uint64, errnos ...model.ErrnoCount) model.SyscallStat {
	t.Helper()
	tab, err := syscalls.TableFor(arch)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := tab.Lookup(name)
	if !ok {
		t.Fatalf("%s has no %s", arch, name)
	}
	return model.SyscallStat{Nr: s.Nr, Name: name, Counts: model.Counts{Calls: calls, Errors: errors}, Errnos: errnos}
}

// snapshot is what a run of a small program on amd64 saw: sorted by calls as
// the aggregator sorts, with the compat slot and a number no table names.
func snapshot(t *testing.T) *model.Snapshot {
	return &model.Snapshot{Syscalls: []model.SyscallStat{
		stat(t, "amd64", "read", 50, 0),
		stat(t, "amd64", "openat", 20, 3, model.ErrnoCount{Errno: 2, Name: "ENOENT", Count: 3}),
		{Nr: model.CompatNr, Name: model.CompatName, Counts: model.Counts{Calls: 7}},
		stat(t, "amd64", "clone3", 2, 2, model.ErrnoCount{Errno: 38, Name: "ENOSYS", Count: 2}),
		stat(t, "amd64", "execve", 1, 0),
		{Nr: 510, Name: "syscall_510", Counts: model.Counts{Calls: 1}},
		stat(t, "amd64", "exit_group", 1, 0),
		stat(t, "amd64", "close", 0, 0), // no calls: not seen
	}}
}

func TestObservedAreTheSortedNamesWithCallsAndWhatEveryProgramNeeds(t *testing.T) {
	o, err := Observe(snapshot(t), "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"clone3", "execve", "exit", "exit_group", "openat", "read"}; !slices.Equal(o.Names, want) {
		t.Errorf("names %v, want %v", o.Names, want)
	}
	if !slices.Equal(o.Added, []string{"exit"}) {
		t.Errorf("added %v, want [exit]", o.Added)
	}
	if o.Compat != 7 {
		t.Errorf("compat %d, want 7", o.Compat)
	}
	if !slices.Equal(o.Unknown, []string{"syscall_510"}) {
		t.Errorf("unknown %v", o.Unknown)
	}
	if !slices.Equal(o.Denied, []string{"clone3"}) {
		t.Errorf("denied %v, want [clone3] (openat failed with ENOENT, and not always)", o.Denied)
	}
	notes := strings.Join(o.Notes("p.json"), "\n")
	for _, want := range []string{"6 syscalls allowed", "exit not seen", "7 calls of 32-bit tasks", "syscall_510", "ENOSYS (denied already?): clone3"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
}

func TestNamesComeFromTheArchitecturesTable(t *testing.T) {
	// openat is 257 on amd64 and 56 on arm64: a recording of arm64 replayed
	// anywhere names its numbers by its own table.
	s := &model.Snapshot{Syscalls: []model.SyscallStat{stat(t, "arm64", "openat", 1, 0)}}
	o, err := Observe(s, "arm64")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(o.Names, "openat") {
		t.Errorf("arm64 names %v lack openat", o.Names)
	}
	if _, err := Observe(s, "riscv64"); err == nil {
		t.Error("an arch without a table gave no error")
	}
}

func TestTheOCIProfileDeniesWithEPERMAndListsTheArchitectures(t *testing.T) {
	for _, c := range []struct {
		arch string
		want []string
	}{
		{"amd64", []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
		{"arm64", []string{"SCMP_ARCH_AARCH64"}},
	} {
		p, err := Profile([]string{"execve", "read"}, c.arch)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(p)
		var got struct {
			DefaultAction   string   `json:"defaultAction"`
			DefaultErrnoRet *int     `json:"defaultErrnoRet"`
			Architectures   []string `json:"architectures"`
			Syscalls        []struct {
				Names  []string `json:"names"`
				Action string   `json:"action"`
			} `json:"syscalls"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.DefaultAction != "SCMP_ACT_ERRNO" || got.DefaultErrnoRet == nil || *got.DefaultErrnoRet != 1 {
			t.Errorf("%s: default %s errno %v, want SCMP_ACT_ERRNO with 1 (EPERM): %s", c.arch, got.DefaultAction, got.DefaultErrnoRet, b)
		}
		if !slices.Equal(got.Architectures, c.want) {
			t.Errorf("%s: architectures %v, want %v", c.arch, got.Architectures, c.want)
		}
		if len(got.Syscalls) != 1 || got.Syscalls[0].Action != "SCMP_ACT_ALLOW" || !slices.Equal(got.Syscalls[0].Names, []string{"execve", "read"}) {
			t.Errorf("%s: syscalls %+v", c.arch, got.Syscalls)
		}
	}
	if _, err := Profile([]string{"read"}, "mips"); err == nil {
		t.Error("mips gave no error")
	}
	if _, err := Profile(nil, "amd64"); err == nil {
		t.Error("an empty allow list gave no error")
	}
}

func TestTheSystemdDropInAllowsTheNamesOnTheNativeArch(t *testing.T) {
	got := Systemd([]string{"execve", "exit_group", "read"})
	for _, want := range []string{"\n[Service]\n", "\nSystemCallFilter=execve exit_group read\n", "\nSystemCallErrorNumber=EPERM\n", "\nSystemCallArchitectures=native\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("drop-in lacks %q:\n%s", want, got)
		}
	}
}

func TestWriteReplacesTheFileWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.json")
	os.WriteFile(path, []byte("old"), 0o600)
	if _, err := Write(path, FormatOCI, snapshot(t), "amd64"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Syscalls []struct{ Names []string } `json:"syscalls"`
	}
	if err := json.Unmarshal(b, &p); err != nil || len(p.Syscalls) != 1 || !slices.Contains(p.Syscalls[0].Names, "read") {
		t.Errorf("profile %s (%v)", b, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	if _, err := Write(path, FormatSystemd, snapshot(t), "amd64"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "SystemCallFilter=clone3 execve") {
		t.Errorf("drop-in %s", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the directory holds %d files, want the profile alone", len(entries))
	}
}

func TestAnUnwritablePathFailsInOneLineAndLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{filepath.Join(dir, "missing", "p.json"), dir} {
		if err := Check(path); err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), path) {
			t.Errorf("Check(%s): %v, want one line naming the path", path, err)
		}
		if _, err := Write(path, FormatOCI, snapshot(t), "amd64"); err == nil || strings.Contains(err.Error(), ".tmp") {
			t.Errorf("Write(%s): %v, want an error naming the path, not the temporary file", path, err)
		}
	}
	// A directory without write permission (root writes anyway: skip then).
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o555)
	if os.Geteuid() != 0 {
		if _, err := Write(filepath.Join(ro, "p.json"), FormatOCI, snapshot(t), "amd64"); err == nil {
			t.Error("a read-only directory took the profile")
		}
	}
	// A rename that fails (over a non-empty directory) leaves no temporary file.
	full := filepath.Join(dir, "full")
	os.MkdirAll(filepath.Join(full, "x"), 0o755)
	if _, err := writeFileErr(full); err == nil {
		t.Error("a rename over a non-empty directory succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("left behind: %v", names)
	}
	if err := Check(filepath.Join(dir, "new.json")); err != nil {
		t.Errorf("Check of a writable path: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("Check left %d entries, want the 2 directories", len(entries))
	}
}

// writeFileErr writes a small file at path through writeFile.
func writeFileErr(path string) (string, error) {
	return path, writeFile(path, []byte("x"))
}

func TestFormatsAreChecked(t *testing.T) {
	for _, f := range []string{FormatOCI, FormatSystemd} {
		if err := CheckFormat(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if err := CheckFormat("json"); err == nil {
		t.Error("json accepted")
	}
	if _, err := Write(filepath.Join(t.TempDir(), "p"), "json", snapshot(t), "amd64"); err == nil {
		t.Error("Write took format json")
	}
}
