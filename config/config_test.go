package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// flags is a small flag set like tlmon's.
func flags() (*pflag.FlagSet, *string, *time.Duration, *[]string, *bool) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	theme := fs.String("theme", "auto", "")
	interval := fs.DurationP("interval", "i", time.Second, "")
	classes := fs.StringSlice("classes", nil, "")
	mouse := fs.Bool("mouse", false, "")
	fs.String("config", "", "")
	return fs, theme, interval, classes, mouse
}

func write(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFileSetsTheFlagsTheCommandLineDidNot: every flag has a key; a flag on
// the command line wins; views and rules are read.
func TestFileSetsTheFlagsTheCommandLineDidNot(t *testing.T) {
	path := write(t, `theme = "mono"
interval = "250ms"
classes = ["file", "network"]
mouse = true

[monitor.views.processes]
columns = ["PID", "COMM"]
sort = "P99"

[[highlight]]
syscall = "openat"
errno = "ENOENT"
slower_than = "10ms"
color = "#ff8800"
`)
	fs, theme, interval, classes, mouse := flags()
	fs.Parse([]string{"--theme", "dark"})
	f, err := Read(path, fs, true)
	if err == nil {
		err = f.Apply(fs)
	}
	if err != nil {
		t.Fatal(err)
	}
	if *theme != "dark" || *interval != 250*time.Millisecond || strings.Join(*classes, ",") != "file,network" || !*mouse {
		t.Errorf("theme %q interval %v classes %v mouse %v", *theme, *interval, *classes, *mouse)
	}
	if v := f.Views["processes"]; strings.Join(v.Columns, ",") != "PID,COMM" || v.Sort != "P99" {
		t.Errorf("views %+v", f.Views)
	}
	if len(f.Highlight) != 1 || f.Highlight[0].Slower != 10*time.Millisecond {
		t.Errorf("rules %+v", f.Highlight)
	}
	var b bytes.Buffer
	Print(&b, fs, f)
	for _, want := range []string{`theme = "dark"`, `interval = "250ms"`, `classes = ["file", "network"]`, "[monitor.views.processes]", `color = "#ff8800"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("--print-config lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "config =") {
		t.Errorf("--print-config gives --config a key:\n%s", b.String())
	}
}

// TestBadFilesSayFileLineAndKey: an unknown key, a value a flag refuses, a
// syntax error, a rule that does not parse: one line with the file and line.
func TestBadFilesSayFileLineAndKey(t *testing.T) {
	for text, want := range map[string]string{
		"theme = \"mono\"\nthemes = \"dark\"\n":                 `line 2: unknown key "themes"`,
		"interval = \"fast\"\n":                                 "line 1: interval:",
		"theme = \n":                                            "line 1:",
		"[monitor.views.processes]\ncolumn = [\"PID\"]\n":       `line 2: unknown key "monitor.views.processes.column"`,
		"[[highlight]]\nsyscall = \"read\"\ncolor = \"pink\"\n": `[[highlight]] 1: color "pink"`,
		"[[highlight]]\ncolor = \"red\"\n":                      "matches every row",
		"[config]\n":                                            `unknown key "config"`,
	} {
		path := write(t, text)
		fs, _, _, _, _ := flags()
		fs.Parse(nil)
		f, err := Read(path, fs, true)
		if err == nil {
			err = f.Apply(fs)
		}
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want one line with %q", text, err, want)
		}
	}
	fs, _, _, _, _ := flags()
	if f, err := Read(filepath.Join(t.TempDir(), "none.toml"), fs, false); f != nil || err != nil {
		t.Errorf("a missing default file: %v %v", f, err)
	}
	if _, err := Read(filepath.Join(t.TempDir(), "none.toml"), fs, true); err == nil {
		t.Error("a missing --config file is no error")
	}
}

// TestSaveViewKeepsTheRestOfTheFile: saving a view's columns replaces its
// keys, keeps comments and other tables, and adds the table when missing.
func TestSaveViewKeepsTheRestOfTheFile(t *testing.T) {
	path := write(t, "# mine\ntheme = \"mono\"\n\n[monitor.views.syscalls]\n# sorted my way\nsort = \"ERRORS\"\n\n[[highlight]]\ncomm = \"nginx\"\ncolor = \"red\"\n")
	if err := SaveView(path, "syscalls", View{Columns: []string{"NAME", "P99"}, Sort: "P99"}); err != nil {
		t.Fatal(err)
	}
	if err := SaveView(path, "processes", View{Columns: []string{"PID", "COMM"}, Sort: "TOTAL", Reverse: true}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	text := string(b)
	for _, want := range []string{"# mine", "# sorted my way", `columns = ["NAME", "P99"]`, `comm = "nginx"`, "[monitor.views.processes]", "reverse = true"} {
		if !strings.Contains(text, want) {
			t.Errorf("the saved file lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, `"ERRORS"`) {
		t.Errorf("the old sort stayed:\n%s", text)
	}
	fs, _, _, _, _ := flags()
	f, err := Read(path, fs, true)
	if err != nil || strings.Join(f.Views["syscalls"].Columns, ",") != "NAME,P99" || !f.Views["processes"].Reverse || len(f.Highlight) != 1 {
		t.Errorf("the saved file reads back as %+v (%v):\n%s", f, err, text)
	}
	fresh := filepath.Join(t.TempDir(), "sub", "config.toml")
	if err := SaveView(fresh, "files", View{Columns: []string{"PATH"}}); err != nil {
		t.Fatal(err)
	}
}
