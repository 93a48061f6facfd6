// Package devtool holds what tlmon's development commands (./bench and
// ./kernels) share: finding the go tool and the module, and small text helpers.
package devtool

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// GoCommand is the go tool: the one in PATH, else the one of the Go that
// built this program (sudo may reset PATH).
func GoCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// ModuleRoot is the directory of the go.mod the command belongs to, so that
// it can be run from anywhere inside the module.
func ModuleRoot(goTool string) (string, error) {
	b, err := exec.Command(goTool, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the tlmon module: run from the repository")
	}
	return filepath.Dir(mod), nil
}

// SplitList splits a comma list flag, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// ShellQuote quotes s for a POSIX shell.
func ShellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
