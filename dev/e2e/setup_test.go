package e2e

// The README's set-up: two commands that work as root without sudo and as a
// user with sudo, and make test saying what it needs before it starts.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"tlmon/internal/bpftest"
)

const repoRoot = "../.."

// setUpCommands are the commands in the README's "Set up" section.
func setUpCommands(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Set up\n")
	if !ok {
		t.Fatal("README.md has no Set up section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var cmds []string
	for _, m := range regexp.MustCompile("(?s)```\n(.*?)```").FindAllStringSubmatch(section, -1) {
		for _, line := range strings.Split(strings.TrimSpace(m[1]), "\n") {
			cmds = append(cmds, strings.TrimSpace(line))
		}
	}
	return cmds
}

// makeDryRun is what make would run for targets, as root or as nobody.
func makeDryRun(t *testing.T, asNobody bool, targets ...string) string {
	t.Helper()
	// --no-print-directory: under make test, make runs nested and would
	// say which directory it enters first.
	cmd := exec.Command("make", append([]string{"-n", "--no-print-directory"}, targets...)...)
	cmd.Dir = repoRoot
	if asNobody {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n %v: %v\n%s", targets, err, out)
	}
	return string(out)
}

// TestSetUpIsTwoCommandsThatElevateOnlyWhenNeeded: the README's set-up is
// `make run` and `make test`, with no sudo of their own; as root they run
// nothing through sudo (a root-only box has none), as a user they run tlmon
// and the tests through sudo, and .ci/run calls the same test command.
func TestSetUpIsTwoCommandsThatElevateOnlyWhenNeeded(t *testing.T) {
	bpftest.Require(t)
	if cmds := setUpCommands(t); !slices.Equal(cmds, []string{"make run", "make test"}) {
		t.Errorf("the set-up commands are %q, want make run and make test", cmds)
	}
	if out := makeDryRun(t, false, "run", "test"); strings.Contains(out, "sudo") || !strings.Contains(out, "./tlmon") {
		t.Errorf("as root, make run and make test would run:\n%s\nwant ./tlmon and no sudo", out)
	}
	run := makeDryRun(t, true, "run")
	if !strings.Contains(run, "sudo ./tlmon") || strings.Contains(run, "sudo "+"go build") {
		t.Errorf("as a user, make run would run:\n%s\nwant tlmon (only) through sudo", run)
	}
	test := makeDryRun(t, true, "test")
	if !regexp.MustCompile(`(?m)^sudo .* test -count=1`).MatchString(test) || regexp.MustCompile(`(?m)^sudo .* vet`).MatchString(test) {
		t.Errorf("as a user, make test would run:\n%s\nwant the tests (only) through sudo", test)
	}
	ci, err := os.ReadFile(filepath.Join(repoRoot, ".ci/run"))
	if err != nil || !regexp.MustCompile(`(?m)^make test$`).Match(ci) {
		t.Errorf(".ci/run does not run make test (%v)", err)
	}
}

// TestMakeTestSaysWhatItNeedsFirst: without tmux and strace, make test stops
// before anything runs, with one line naming them.
func TestMakeTestSaysWhatItNeedsFirst(t *testing.T) {
	if first := strings.SplitN(makeDryRun(t, false, "test"), "\n", 2)[0]; !strings.Contains(first, "tmux strace") {
		t.Errorf("make test starts with %q, want the check for tmux and strace", first)
	}
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Skip("no make")
	}
	cmd := exec.Command(makeBin, "-s", "--no-print-directory", "test-deps")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "PATH=/nonexistent")
	out, err := cmd.CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err == nil || !strings.Contains(lines[0], "make test needs tmux and strace") || !strings.Contains(lines[0], "missing: tmux strace") {
		t.Errorf("without tmux and strace: %v\n%s\nwant a failure saying make test needs them", err, out)
	}
}
