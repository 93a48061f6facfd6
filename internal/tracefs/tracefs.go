// Package tracefs finds the kernel's tracing filesystem, mounting it where
// nothing did (a bare VM): tracepoints and kprobe events live there.
package tracefs

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// dirs are where tracefs is found, the first the one mounted if none is.
var dirs = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// Dir returns the mounted tracefs, mounting it if it is not.
func Dir() (string, error) {
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "events")); err == nil {
			return d, nil
		}
	}
	d := dirs[0]
	if err := unix.Mount("tracefs", d, "tracefs", 0, ""); err != nil {
		return "", fmt.Errorf("mount tracefs on %s: %w", d, err)
	}
	return d, nil
}
