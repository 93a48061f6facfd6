// Package outfile guards the files tlmon writes by a rename over their path
// (a recording, a seccomp profile): as root, a rename replaces a device or
// /dev/stdout's link as readily as a file.
package outfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Replaceable says why path must not be replaced by a new file, nil when it
// may. Refused: a path under /dev, /proc or /sys (`--record /dev/null` or
// /dev/stdout would take them from the whole machine), and a device, a fifo
// or a socket anywhere, or a link to one. A missing path, a regular file, a
// link to one or to nothing, and a directory (the rename fails on it with
// its own error) may be replaced.
func Replaceable(path string) error {
	if abs, err := filepath.Abs(path); err == nil {
		for _, sys := range []string{"/dev", "/proc", "/sys"} {
			if abs == sys || strings.HasPrefix(abs, sys+"/") {
				return fmt.Errorf("%s is under %s: give a regular file's path", path, sys)
			}
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().IsRegular() || fi.IsDir() {
		return nil
	}
	return fmt.Errorf("%s is not a regular file (%v): give a regular file's path", path, fi.Mode().Type())
}
