// Package devtool holds what tlmon's development commands (./bench and
// ./kernels) share: finding the go tool and the module, installing Debian
// packages, and small text helpers.
package devtool

import (
	"context"
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

// Tail is the last n lines of b, for error messages.
func Tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// AptInstall installs pkgs that are not installed yet, from the machine's own
// apt sources, saying so on stdout as who; it needs root only when there is
// something to install.
func AptInstall(ctx context.Context, who string, pkgs ...string) error {
	var missing []string
	for _, p := range pkgs {
		out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f", "${Status}", p).Output()
		if err != nil || !strings.HasSuffix(string(out), " installed") {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("missing %s: run as root, or apt-get install %s", strings.Join(missing, ", "), strings.Join(missing, " "))
	}
	install := func() error {
		fmt.Printf("%s: apt-get install -y --no-install-recommends %s\n", who, strings.Join(missing, " "))
		cmd := exec.CommandContext(ctx, "apt-get", append([]string{"install", "-y", "-q", "--no-install-recommends"}, missing...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get install %s: %w: %s", strings.Join(missing, " "), err, Tail(out, 5))
		}
		return nil
	}
	if install() != nil {
		// The machine's package lists may be missing or stale.
		if out, err := exec.CommandContext(ctx, "apt-get", "update", "-q").CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get update: %w: %s", err, Tail(out, 5))
		}
		return install()
	}
	return nil
}
