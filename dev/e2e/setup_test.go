package e2e

// The README's set-up: two commands that work as root without sudo and as a
// user with sudo, and make test saying what it needs before it starts.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
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

// sudoUser is the throwaway user TestSetUpWorksAsAUserWithSudo runs as.
const sudoUser = "tlmon-e2e"

// TestSetUpWorksAsAUserWithSudo: a user who may sudo (as on a workstation)
// runs the README's first command in a fresh clone: make builds tlmon as the
// user and runs it through sudo, and the command given after -- runs as the
// user again. CI installs sudo; without it the test skips, or fails where
// BPF tests must run.
func TestSetUpWorksAsAUserWithSudo(t *testing.T) {
	bpftest.Require(t)
	if _, err := exec.LookPath("sudo"); err != nil {
		if os.Getenv(bpftest.RequireEnv) != "" {
			t.Fatal("sudo is not installed (.ci/run installs it)")
		}
		t.Skip("sudo is not installed")
	}
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	exec.Command("userdel", "--remove", sudoUser).Run() // a run killed before its cleanup
	run("useradd", "--create-home", "--shell", "/bin/sh", sudoUser)
	sudoers := "/etc/sudoers.d/" + sudoUser
	t.Cleanup(func() {
		os.Remove(sudoers)
		exec.Command("userdel", "--remove", sudoUser).Run()
	})
	if err := os.WriteFile(sudoers, []byte(sudoUser+" ALL=(ALL) NOPASSWD: ALL\n"), 0o440); err != nil {
		t.Fatal(err)
	}
	home := "/home/" + sudoUser
	clone := filepath.Join(home, "tlmon")
	run("git", "clone", "-q", repoRoot, clone)
	// The user has no module cache of their own and no network need: the
	// dependencies come vendored from root's cache.
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	vendor := exec.Command(goBin, "mod", "vendor")
	vendor.Dir = clone
	if out, err := vendor.CombinedOutput(); err != nil {
		t.Fatalf("go mod vendor: %v\n%s", err, out)
	}
	run("chown", "-R", sudoUser+":", home)

	uid := strings.TrimSpace(run("id", "-u", sudoUser))
	cmd := exec.Command("runuser", "-u", sudoUser, "--", "env", "-i",
		"HOME="+home, "PATH="+filepath.Dir(goBin)+":/usr/bin:/bin", "GOFLAGS=-mod=vendor", "GOTOOLCHAIN=local",
		"make", "-s", "run", `ARGS=-o json -- id -u`)
	cmd.Dir = clone
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("make run as %s: %v\n%s%s", sudoUser, err, out, stderr)
	}
	first, report, _ := strings.Cut(string(out), "\n")
	if first != uid || !strings.Contains(report, `"syscalls"`) {
		t.Errorf("make run as a user with sudo printed:\n%s\nwant the command's uid %s, then tlmon's JSON report", out, uid)
	}
}
