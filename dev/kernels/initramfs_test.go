package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"tlmon/dev/internal/devtool"
)

// cpioEntry is one entry as a newc reader sees it.
type cpioEntry struct {
	name       string
	mode       uint32
	data       string
	rdevMajor  uint32
	rdevMinor  uint32
	headerAt   int
	dataOffset int
}

// readCpio is a minimal newc reader: enough to check what the writer wrote,
// field by field, and the 4-byte alignment of every header and data.
func readCpio(t *testing.T, b []byte) []cpioEntry {
	t.Helper()
	var out []cpioEntry
	off := 0
	for {
		if off%4 != 0 {
			t.Fatalf("header at %d is not 4-byte aligned", off)
		}
		if len(b) < off+110 || string(b[off:off+6]) != "070701" {
			t.Fatalf("no newc header at %d", off)
		}
		field := func(i int) uint32 {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				t.Fatalf("field %d of the header at %d: %v", i, off, err)
			}
			return uint32(v)
		}
		e := cpioEntry{mode: field(1), rdevMajor: field(9), rdevMinor: field(10), headerAt: off}
		size, namesize := int(field(6)), int(field(11))
		name := b[off+110 : off+110+namesize]
		if name[namesize-1] != 0 {
			t.Fatalf("name at %d has no NUL", off)
		}
		e.name = string(name[:namesize-1])
		e.dataOffset = (off + 110 + namesize + 3) &^ 3
		e.data = string(b[e.dataOffset : e.dataOffset+size])
		off = (e.dataOffset + size + 3) &^ 3
		if e.name == cpioTrailer {
			if off != len(b) {
				t.Fatalf("%d bytes after the trailer", len(b)-off)
			}
			return out
		}
		out = append(out, e)
	}
}

func TestCpioWriterRoundTripsEveryKindOfEntry(t *testing.T) {
	var buf bytes.Buffer
	c := newCpioWriter(&buf)
	c.Dir("bin", 0o755)
	c.File("bin/a", 0o644, []byte("hello"))   // 5 bytes: data needs padding
	c.File("bin/empty", 0o600, nil)           // no data at all
	c.File("abcd", 0o755, []byte("12345678")) // a name that needs no padding
	c.Symlink("bin/sh", "busybox")
	c.CharDev("dev/console", 0o600, 5, 1)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	got := readCpio(t, buf.Bytes())
	want := []struct {
		name string
		mode uint32
		data string
	}{
		{"bin", modeDir | 0o755, ""},
		{"bin/a", modeRegular | 0o644, "hello"},
		{"bin/empty", modeRegular | 0o600, ""},
		{"abcd", modeRegular | 0o755, "12345678"},
		{"bin/sh", modeSymlink | 0o777, "busybox"},
		{"dev/console", modeCharDev | 0o600, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("read %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].name != w.name || got[i].mode != w.mode || got[i].data != w.data {
			t.Errorf("entry %d = %q %o %q, want %q %o %q", i, got[i].name, got[i].mode, got[i].data, w.name, w.mode, w.data)
		}
	}
	if c := got[5]; c.rdevMajor != 5 || c.rdevMinor != 1 {
		t.Errorf("dev/console is %d:%d, want 5:1", c.rdevMajor, c.rdevMinor)
	}
}

// The system's cpio, where installed, must list the archive as written: the
// format is the kernel's, not only our reader's.
func TestCpioToolListsTheArchive(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("no cpio tool")
	}
	var buf bytes.Buffer
	c := newCpioWriter(&buf)
	c.Dir("tests", 0o755)
	c.File("tests/x.test", 0o755, bytes.Repeat([]byte{1}, 1001))
	c.Symlink("tests/link", "x.test")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("cpio", "-t", "--quiet")
	cmd.Stdin = &buf
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(out)); strings.Join(got, " ") != "tests tests/x.test tests/link" {
		t.Errorf("cpio -t listed %q", got)
	}
}

func TestInitramfsHoldsInitBusyboxWorkloadAndTests(t *testing.T) {
	dir := t.TempDir()
	file := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pkgs := []vmPackage{
		{importPath: "tlmon/bpf", name: "bpf", binary: file("bpf.test", "TEST")},
		{importPath: "tlmon/x", name: "x", binary: file("x.test", "XTEST"), testdata: filepath.Join(dir, "x", "testdata")},
	}
	file("x/testdata/sub/in.txt", "IN")
	fs := initramfs{busybox: file("busybox", "BB"), workload: file("workload", "WL"), pkgs: pkgs, init: "#!/bin/sh\n"}
	var buf bytes.Buffer
	if err := fs.write(&buf); err != nil {
		t.Fatal(err)
	}
	entries := map[string]cpioEntry{}
	for _, e := range readCpio(t, buf.Bytes()) {
		if _, dup := entries[e.name]; dup && e.mode&0o170000 != modeDir {
			t.Errorf("%s written twice", e.name)
		}
		entries[e.name] = e
	}
	for name, data := range map[string]string{
		"init": "#!/bin/sh\n", "bin/busybox": "BB", "bin/sh": "busybox", "bin/workload": "WL",
		"tests/bpf.test": "TEST", "tests/x.test": "XTEST", "tests/x/testdata/sub/in.txt": "IN",
	} {
		e, ok := entries[name]
		if !ok {
			t.Errorf("no %s in the archive", name)
		} else if e.data != data {
			t.Errorf("%s holds %q, want %q", name, e.data, data)
		}
	}
	if e := entries["init"]; e.mode&0o111 == 0 {
		t.Errorf("init is not executable: %o", e.mode)
	}
	if _, ok := entries["dev/console"]; !ok {
		t.Error("no dev/console: the init would have no stdout")
	}
}

func TestInitScriptExportsQuotedSortedEnvAndRunsEachPackage(t *testing.T) {
	pkgs := []vmPackage{{name: "bpf"}, {name: "x", testdata: "/somewhere/testdata"}}
	env := map[string]string{"TLMON_KERNEL": "bookworm-6.1", "B": "it's", "A": "1,2 3"}
	s := initScript(pkgs, env, []string{"-test.v", "-test.run=^Test(A|B)$"})
	for _, want := range []string{
		"export A='1,2 3'\nexport B='it'\\''s'\nexport TLMON_KERNEL='bookworm-6.1'\n",
		"mount -t devtmpfs devtmpfs /dev\n",
		"echo \"" + markRun + " bpf\"\nmkdir -p /tmp/bpf && cd /tmp/bpf\n/tests/bpf.test '-test.v' '-test.run=^Test(A|B)$'\n",
		"cp -a /tests/x/testdata .\n/tests/x.test",
		"echo \"" + markResult + " $result\"\nsync\nreboot -f\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the init lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "cp -a /tests/bpf/testdata") {
		t.Error("copies testdata for a package that has none")
	}
}

func TestShellQuoteSurvivesSh(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, s := range []string{"", "plain", "it's", "$HOME `x` \"q\" \\ ;|&", "a\nb"} {
		out, err := exec.Command(sh, "-c", "printf %s "+devtool.ShellQuote(s)).Output()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != s {
			t.Errorf("sh read %q back as %q", s, out)
		}
	}
}
