package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// docFiles are the files genDocs writes, committed under dist/.
var docFiles = []string{"tlmon.8", "completions/tlmon.bash", "completions/_tlmon", "completions/tlmon.fish"}

func genDocsTemp(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := genDocs(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCommittedDocsAreUpToDate: dist/ holds what the flags generate now
// (make generate rewrites it; make check-generated fails the same way).
func TestCommittedDocsAreUpToDate(t *testing.T) {
	dir := genDocsTemp(t)
	for _, name := range docFiles {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join("dist", name)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("dist/%s is not what the flags generate (%v): run make generate", name, err)
		}
	}
}

// TestManPageNamesEveryFlagAndRenders: the page has its sections and every
// flag --help shows (and none it hides), and man (or groff) renders it
// without a warning.
func TestManPageNamesEveryFlagAndRenders(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(genDocsTemp(t), "tlmon.8"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(raw)
	for _, sec := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXAMPLE", "KEYS", "EXIT STATUS", "FILES", "SEE ALSO"} {
		if !strings.Contains(page, "\n.SH "+sec+"\n") {
			t.Errorf("the man page has no %s section", sec)
		}
	}
	if !strings.Contains(page, `.TH "TLMON" "8"`) {
		t.Errorf("the man page is not tlmon(8): %.80q", page)
	}
	for i, r := range page {
		if r > 0x7e && r != '\n' {
			t.Fatalf("the man page has %q at %d: roff wants ASCII and escapes", r, i)
		}
	}
	rendered := renderMan(t, filepath.Join(genDocsTemp(t), "tlmon.8"))
	newFlagSet(&options{}).VisitAll(func(f *pflag.Flag) {
		shown := strings.Contains(rendered, "--"+f.Name+"=") || strings.Contains(rendered, "--"+f.Name+"[")
		if shown == f.Hidden {
			t.Errorf("--%s (hidden %v) shown in the man page: %v", f.Name, f.Hidden, shown)
		}
	})
	for _, want := range []string{"tlmon [flags] [-- command [args...]]", "CAP_BPF", "strace(1)", "tlmon -p 1234"} {
		if !strings.Contains(rendered, want) {
			t.Errorf("the rendered man page lacks %q", want)
		}
	}
}

// renderMan is the page as man (else groff) shows it at 200 columns in plain
// text (man strips bold when not writing to a terminal), failing on any
// warning; it skips when neither is installed.
func renderMan(t *testing.T, page string) string {
	t.Helper()
	var cmd *exec.Cmd
	if _, err := exec.LookPath("man"); err == nil {
		cmd = exec.Command("man", "--warnings", "-l", page)
		cmd.Env = append(os.Environ(), "MANWIDTH=200", "MANPAGER=cat", "PAGER=cat")
	} else if _, err := exec.LookPath("groff"); err == nil {
		// -P-cbu: plain text, no overstrikes or escapes for bold and underline.
		cmd = exec.Command("groff", "-man", "-Tutf8", "-ww", "-rLL=200n", "-P-cbu", page)
	} else {
		t.Skip("neither man nor groff is installed")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, stderr.String())
	}
	return string(out)
}

// TestCompletionScriptsParse: each script passes its shell's syntax check,
// for the shells installed (.ci/run installs all three).
func TestCompletionScriptsParse(t *testing.T) {
	dir := genDocsTemp(t)
	for shell, file := range map[string]string{"bash": "tlmon.bash", "zsh": "_tlmon", "fish": "tlmon.fish"} {
		t.Run(shell, func(t *testing.T) {
			if _, err := exec.LookPath(shell); err != nil {
				t.Skipf("%s is not installed", shell)
			}
			if out, err := exec.Command(shell, "-n", filepath.Join(dir, "completions", file)).CombinedOutput(); err != nil {
				t.Errorf("%s -n %s: %v\n%s", shell, file, err, out)
			}
		})
	}
}

// TestCompletions: what `tlmon __complete` answers the scripts: flag values,
// comma lists, processes, and a command after --.
func TestCompletions(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	for _, c := range []struct {
		name  string
		words []string
		want  []string // among the completions (before a tab)
		not   []string
		dir   string // the directive
	}{
		{"the themes", []string{"--theme", ""}, []string{"auto", "dark", "light", "mono"}, nil, ":4"},
		{"the formats", []string{"-o", ""}, []string{"table", "json", "csv", "perfetto"}, nil, ":4"},
		{"the rungs' hooks (the shell keeps those that match)", []string{"--hook", "t"}, []string{"auto", "raw_tp", "tracepoint", "kprobe"}, nil, ":4"},
		{"the buffers", []string{"--buffer", ""}, []string{"auto", "ringbuf", "perf"}, nil, ":4"},
		{"a class list", []string{"--classes", "file,n"}, []string{"file,network", "file,none"}, []string{"file,file"}, ":6"},
		{"syscalls and classes", []string{"-e", "%fi"}, []string{"%file"}, nil, ":6"},
		{"syscall names", []string{"-e", "open,getpp"}, []string{"open,getppid"}, nil, ":6"},
		{"this process among the PIDs", []string{"-p", ""}, []string{pid}, nil, ":6"},
		{"flag names", []string{"--th"}, []string{"--theme"}, nil, ":4"},
		{"no argument without --", []string{""}, nil, []string{"sh"}, ":4"},
		{"a command after --", []string{"--", "s"}, []string{"sh"}, nil, ":4"},
		{"its arguments as files", []string{"--", "sh", "-"}, nil, []string{"--theme"}, ":0"},
		{"a recording's file", []string{"--replay", ""}, nil, nil, ":0"},
		{"no file for a duration", []string{"-d", ""}, nil, nil, ":4"},
		{"hidden flags stay hidden", []string{"--gen"}, nil, []string{"--gen-docs"}, ":4"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := complete(append([]string{"__complete"}, c.words...), &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			var got []string
			for _, l := range lines[:len(lines)-1] {
				v, _, _ := strings.Cut(l, "\t")
				got = append(got, v)
			}
			if dir := lines[len(lines)-1]; dir != c.dir {
				t.Errorf("%q: directive %s, want %s", c.words, dir, c.dir)
			}
			for _, w := range c.want {
				if !slices.Contains(got, w) {
					t.Errorf("%q: %q lacks %q", c.words, got, w)
				}
			}
			for _, w := range c.not {
				if slices.Contains(got, w) {
					t.Errorf("%q: %q has %q", c.words, got, w)
				}
			}
		})
	}
}

// TestCompletedValuesAreAccepted: every value offered for --theme, -o,
// --buffer and --hook passes the flags' own checks.
func TestCompletedValuesAreAccepted(t *testing.T) {
	for _, flag := range []string{"--theme", "--output", "--buffer", "--hook"} {
		var out bytes.Buffer
		if err := complete([]string{"__complete", flag, ""}, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		for _, v := range lines[:len(lines)-1] {
			args := []string{flag, v}
			if v == "perfetto" {
				args = append(args, "--replay", "x.tlmon")
			}
			if _, err := parseFlags(args); err != nil {
				t.Errorf("%s %s is offered but refused: %v", flag, v, err)
			}
		}
	}
}

// TestDescribeBuild: --version's line names the commit (unless the version
// does), its date and the Go that built it, whatever the build recorded.
func TestDescribeBuild(t *testing.T) {
	rev := "0123456789abcdef0123456789abcdef01234567"
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: "2026-12-06T11:02:03Z"}, {Key: "vcs.modified", Value: "false"}}
	for _, c := range []struct {
		version, date string
		settings      []debug.BuildSetting
		goVersion     string
		want          string
	}{
		{"v0.3.1", "", vcs, "go1.26.8", "v0.3.1 (0123456789ab 2026-12-06, go1.26.8)"},
		{"v0.0.0-20261206110203-0123456789ab", "", vcs, "go1.26.8", "v0.0.0-20261206110203-0123456789ab (2026-12-06, go1.26.8)"},
		{rev, "", vcs, "go1.26.8", rev + " (2026-12-06, go1.26.8)"},
		{"c2343e7-dirty", "2026-12-05", nil, "go1.26.8", "c2343e7-dirty (2026-12-05, go1.26.8)"},
		{"dev", "", nil, "go1.26.8", "dev (go1.26.8)"},
		{"dev", "", nil, "", "dev"},
		{"v1", "", []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "true"}}, "go1.26.8", "v1 (0123456789ab-dirty, go1.26.8)"},
	} {
		bi := &debug.BuildInfo{GoVersion: c.goVersion, Settings: c.settings}
		if got := describeBuild(c.version, c.date, bi); got != c.want {
			t.Errorf("%q, %q, %v: %q, want %q", c.version, c.date, c.settings, got, c.want)
		}
	}
}
