package outfile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReplaceable(t *testing.T) {
	dir := t.TempDir()
	file, fifo := filepath.Join(dir, "file"), filepath.Join(dir, "fifo")
	os.WriteFile(file, nil, 0o600)
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := func(name, to string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(to, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for path, refused := range map[string]string{
		filepath.Join(dir, "new"): "",
		file:                      "",
		dir:                       "",
		link("to-file", file):     "",
		link("dangling", filepath.Join(dir, "x")): "",
		fifo:                         "not a regular file",
		link("to-null", "/dev/null"): "not a regular file",
		"/dev/null":                  "is under /dev",
		"/dev/stdout":                "is under /dev",
		"/proc/self/fd/1":            "is under /proc",
		"/sys/kernel/notes":          "is under /sys",
	} {
		err := Replaceable(path)
		if refused == "" && err != nil || refused != "" && (err == nil || !strings.Contains(err.Error(), refused)) {
			t.Errorf("%s: %v, want %q", path, err, refused)
		}
	}
}
