package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"tlmon/internal/bpftest"
)

// TestSeccompProfileRunsTheCommandAgainAndDeniesTheRest records the
// workload's openat-close with --seccomp-profile, then runs it again under
// the profile (installed by dev/seccomprun before exec, as a runtime does):
// it must succeed, while getppid, which it never made, fails with EPERM. The
// profile validates against the OCI runtime-spec's schema of linux.seccomp,
// the same run's recording replayed writes the same profile, and the systemd
// format allows the same names.
func TestSeccompProfileRunsTheCommandAgainAndDeniesTheRest(t *testing.T) {
	bpftest.Require(t)
	dir := t.TempDir()
	runner := filepath.Join(dir, "seccomprun")
	if out, err := exec.Command("go", "build", "-o", runner, "tlmon/dev/seccomprun").CombinedOutput(); err != nil {
		t.Fatalf("build seccomprun: %v\n%s", err, out)
	}
	profile, rec := filepath.Join(dir, "p.json"), filepath.Join(dir, "r.tlmon")
	tl := startTlmon(t, "--headless", "-o", "json", "--classes", "none", "--record", rec, "--seccomp-profile", profile, "--", workloadBin, "openat-close", "100")
	tl.finish(t, false)
	if !strings.Contains(tl.errAll.String(), "seccomp profile "+profile+": ") {
		t.Errorf("tlmon did not say it wrote the profile:\n%s", tl.errAll.String())
	}
	b, err := os.ReadFile(profile)
	if err != nil {
		t.Fatal(err)
	}
	validateSeccompSchema(t, b)
	var p struct {
		DefaultAction   string `json:"defaultAction"`
		DefaultErrnoRet int    `json:"defaultErrnoRet"`
		Syscalls        []struct {
			Names []string `json:"names"`
		} `json:"syscalls"`
	}
	if err := json.Unmarshal(b, &p); err != nil || len(p.Syscalls) != 1 {
		t.Fatalf("profile: %v\n%s", err, b)
	}
	names := p.Syscalls[0].Names
	for _, want := range []string{"openat", "close", "execve", "exit_group"} {
		if !slices.Contains(names, want) {
			t.Errorf("the profile does not allow %s: %v", want, names)
		}
	}
	if slices.Contains(names, "getppid") || !slices.IsSorted(names) {
		t.Fatalf("the profile allows getppid, which the workload never made, or is not sorted: %v", names)
	}

	// The same command under the profile: the same calls, none denied.
	var again workloadReport
	runUnder(t, runner, profile, &again, "openat-close", "100")
	if again.Calls["openat"] != 100 || again.Calls["close"] != 100 || len(again.Errors) != 0 {
		t.Errorf("under the profile the workload made %v with errors %v, want 100 openat and close, no error", again.Calls, again.Errors)
	}
	// A call it never made: denied with EPERM.
	var other workloadReport
	runUnder(t, runner, profile, &other, "getppid", "1")
	if other.Errors["getppid"]["EPERM"] != 1 {
		t.Errorf("getppid under the profile: calls %v errors %v, want EPERM", other.Calls, other.Errors)
	}

	// tlmon sees what a filter denies: getppid under the profile counts as
	// a call failing with EPERM, and a profile of that run says so.
	second := filepath.Join(dir, "second.json")
	tl2 := startTlmon(t, "--headless", "-o", "json", "--classes", "none", "--seccomp-profile", second, "--", runner, profile, "--", workloadBin, "getppid", "1")
	rep := tl2.finish(t, false)
	if g := rep.syscall("getppid"); g.Calls != 1 || g.Errno["EPERM"] != 1 {
		t.Errorf("tlmon counted getppid under the filter as %+v, want 1 call failing with EPERM", g)
	}
	if !strings.Contains(tl2.errAll.String(), "(denied already?): getppid") {
		t.Errorf("tlmon did not name getppid as denied:\n%s", tl2.errAll.String())
	}

	// The recording of the run gives the same profile, without root.
	replayed := filepath.Join(dir, "replayed.json")
	cmd := exec.Command(tlmonBin, "--replay", rec, "-o", "json", "--seccomp-profile", replayed)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o777) // nobody writes the profile there
	os.Chmod(rec, 0o644)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("replay as nobody: %v\n%s", err, out)
	}
	if b2, err := os.ReadFile(replayed); err != nil || !bytes.Equal(b, b2) {
		t.Errorf("the replay's profile differs (%v):\n%s\nlive:\n%s", err, b2, b)
	}

	// The systemd drop-in of the same recording allows the same names.
	dropIn := filepath.Join(dir, "p.conf")
	if out, err := exec.Command(tlmonBin, "--replay", rec, "-o", "json", "--seccomp-profile", dropIn, "--seccomp-format", "systemd").CombinedOutput(); err != nil {
		t.Fatalf("systemd format: %v\n%s", err, out)
	}
	conf, _ := os.ReadFile(dropIn)
	for _, want := range []string{"[Service]\n", "SystemCallFilter=" + strings.Join(names, " ") + "\n", "SystemCallErrorNumber=EPERM\n"} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("the drop-in lacks %q:\n%s", want, conf)
		}
	}
	// systemd knows every name (it says so of one it does not, and goes on).
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		unit := filepath.Join(dir, "app.service")
		os.WriteFile(unit, append([]byte("[Unit]\nDescription=test\n[Service]\nExecStart=/bin/true\n"), conf...), 0o644)
		out, err := exec.Command("systemd-analyze", "verify", unit).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify of the drop-in: %v\n%s", err, out)
		}
	}
}

// runUnder runs the workload under the profile and decodes its report.
func runUnder(t *testing.T, runner, profile string, rep any, args ...string) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(runner, append([]string{profile, "--", workloadBin}, args...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("workload %v under the profile: %v\n%s", args, err, stderr.String())
	}
	if err := json.Unmarshal([]byte(firstLine(string(out))), rep); err != nil {
		t.Fatalf("workload %v report: %v (%q)", args, err, out)
	}
}

// validateSeccompSchema checks a profile against linux.seccomp of the OCI
// runtime-spec's config schema, read from the module go.mod requires (the
// version whose Go types wrote it), and that the schema does refuse a bad
// profile, so a pass means something.
func validateSeccompSchema(t *testing.T, profile []byte) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/opencontainers/runtime-spec").Output()
	if err != nil {
		t.Fatalf("go list the runtime-spec module: %v", err)
	}
	schema := filepath.Join(strings.TrimSpace(string(out)), "schema", "config-linux.json")
	sch, err := jsonschema.NewCompiler().Compile(schema + "#/linux/properties/seccomp")
	if err != nil {
		t.Fatalf("compile %s: %v", schema, err)
	}
	check := func(doc []byte) error {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		return sch.Validate(inst)
	}
	if err := check(profile); err != nil {
		t.Errorf("the profile is not a valid linux.seccomp: %v\n%s", err, profile)
	}
	bad := bytes.Replace(profile, []byte("SCMP_ACT_ERRNO"), []byte("SCMP_ACT_BOGUS"), 1)
	if check(bad) == nil {
		t.Error("the schema took a defaultAction of SCMP_ACT_BOGUS: it checks nothing")
	}
}

// TestUnwritableSeccompProfileFailsBeforeTheRun: a profile path that cannot
// be written ends tlmon at once with one line and status 1, before anything
// is watched, and leaves nothing behind; as nobody, a directory nobody cannot
// write is refused before the lack of root is even found.
func TestUnwritableSeccompProfileFailsBeforeTheRun(t *testing.T) {
	dir := recordDir(t) // nobody reaches it, and cannot write it
	for _, c := range []struct {
		name   string
		path   string
		nobody bool
	}{
		{"missing directory", "/nonexistent/dir/p.json", false},
		{"a directory", dir, false},
		{"read-only directory as nobody", filepath.Join(dir, "p.json"), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(tlmonBin, "--headless", "--seccomp-profile", c.path, "--", "true")
			if c.nobody {
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			} else if os.Geteuid() != 0 {
				t.Skip("needs root to get as far as the check")
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Errorf("exit %v, want status 1", err)
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "tlmon: seccomp profile "+c.path+": ") {
				t.Errorf("stderr %q, want one line naming the path", msg)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("left behind in %s: %d files", dir, len(entries))
			}
		})
	}
}

// TestSeccompProfileLeavesOut32BitCalls: calls through the 32-bit entry are
// counted under one slot that names no syscall: the profile says they were
// seen and leaves them out.
func TestSeccompProfileLeavesOut32BitCalls(t *testing.T) {
	bpftest.Require(t)
	profile := filepath.Join(t.TempDir(), "p.json")
	tl := startTlmon(t, "--headless", "-o", "json", "--classes", "none", "--seccomp-profile", profile, "--", workloadBin, "compat-getpid", "5")
	tl.finish(t, false)
	if !strings.Contains(tl.errAll.String(), "calls of 32-bit tasks were seen and are not in the profile") {
		t.Errorf("tlmon did not say it left out the 32-bit calls:\n%s", tl.errAll.String())
	}
	b, err := os.ReadFile(profile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("compat")) || !bytes.Contains(b, []byte(`"execve"`)) {
		t.Errorf("profile:\n%s", b)
	}
}
