package e2e

// Recordings: written as tlmon runs, replayed with no root on any machine,
// printed as the live run printed them, cut short by a SIGKILL and still
// replayed, turned into a Perfetto trace and compared with --diff.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tlmon/internal/bpftest"
)

// replayAsNobody runs tlmon --replay as a user who is not root, with args:
// a replay needs neither root nor BPF.
func replayAsNobody(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(tlmonBin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// recordDir is a directory a user who is not root can read the recordings
// of the test in.
func recordDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	return dir
}

// TestReplayPrintsTheSummaryTheLiveRunPrinted: in each format, the replay
// of a recording prints byte for byte what the run that recorded printed,
// and runs as a user who is not root.
func TestReplayPrintsTheSummaryTheLiveRunPrinted(t *testing.T) {
	bpftest.Require(t)
	dir := recordDir(t)
	for _, format := range []string{"table", "json", "csv"} {
		rec := filepath.Join(dir, format+".tlmon")
		live, err := exec.Command(tlmonBin, "--record", rec, "-o", format, "-i", "200ms", "--since-start", "-d", "1500ms", "--", workloadBin, "--hold", "200ms", "getppid", "5000").Output()
		if err != nil {
			t.Fatalf("%s: the live run: %v", format, err)
		}
		if fi, err := os.Stat(rec); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("the recording: %v, mode %v, want 0600", err, fi.Mode())
		}
		os.Chmod(rec, 0o644)
		// The live run printed a report each interval, then the summary: the
		// replay prints the summary.
		// (The workload's line comes first.)
		summary := string(live)
		switch format {
		case "json":
			summary = summary[strings.LastIndex(strings.TrimRight(summary, "\n"), "\n")+1:]
		case "csv":
			summary = summary[strings.LastIndex(summary, "pid,start_time,"):]
		case "table":
			summary = summary[strings.LastIndex(summary, "syscall "):]
		}
		out, stderr, err := replayAsNobody(t, "--replay", rec, "-o", format)
		if err != nil {
			t.Fatalf("%s: the replay as nobody: %v\n%s", format, err, stderr)
		}
		if out != summary {
			t.Errorf("%s: the replay printed\n%s\nthe live run\n%s", format, out, summary)
		}
	}
}

// TestAKilledRecordingReplaysUpToItsLastInterval: tlmon killed with SIGKILL
// as it records loses at most the interval it was in: the replay has the
// snapshots up to then, and says so if the file ends inside a frame.
func TestAKilledRecordingReplaysUpToItsLastInterval(t *testing.T) {
	bpftest.Require(t)
	rec := filepath.Join(recordDir(t), "killed.tlmon")
	tl := startTlmon(t, "--record", rec, "--headless", "-i", "200ms", "-o", "json")
	time.Sleep(1500 * time.Millisecond)
	killed := time.Now()
	tl.cmd.Process.Signal(syscall.SIGKILL)
	tl.cmd.Wait()
	os.Chmod(rec, 0o644)
	out, stderr, err := replayAsNobody(t, "--replay", rec, "-o", "json")
	if err != nil {
		t.Fatalf("replay of a killed recording: %v\n%s", err, stderr)
	}
	if stderr != "" && !strings.Contains(stderr, "cut short") {
		t.Errorf("the replay says %q", stderr)
	}
	var r struct {
		At time.Time `json:"at"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if lost := killed.Sub(r.At); lost < 0 || lost > 400*time.Millisecond {
		t.Errorf("the last snapshot replayed is %v before the kill, want within an interval (200ms) or two", lost)
	}
}

// TestBadRecordingsGetOneLine: a missing file, an empty one, one that is
// not a recording, one damaged inside: one line naming it, exit 1.
func TestBadRecordingsGetOneLine(t *testing.T) {
	dir := recordDir(t)
	files := map[string][]byte{"empty": {}, "text": []byte("hello\n"), "elf": nil}
	elf, _ := os.ReadFile(tlmonBin)
	files["elf"] = elf[:4096]
	for name, data := range files {
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	for _, name := range []string{"empty", "text", "elf", "missing"} {
		path := filepath.Join(dir, name)
		_, stderr, err := replayAsNobody(t, "--replay", path)
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 || strings.Count(strings.TrimSpace(stderr), "\n") > 0 || !strings.Contains(stderr, path) || strings.Contains(stderr, "goroutine") {
			t.Errorf("%s: %v, stderr %q: want one line naming the file and exit 1", name, err, stderr)
		}
	}
}

// TestRecordingBecomesATraceAndADiff: the Perfetto trace of a recording
// parses, with a counter a snapshot, the workload's process, a slice for
// each of its openat calls (file detail is on: each was sent) and its exit
// from the recording's lifecycle events; the diff
// of its first and second halves lists syscalls.
func TestRecordingBecomesATraceAndADiff(t *testing.T) {
	bpftest.Require(t)
	rec := filepath.Join(recordDir(t), "r.tlmon")
	if out, err := exec.Command(tlmonBin, "--record", rec, "-o", "json", "-i", "200ms", "-d", "2s", "--", workloadBin, "--hold", "300ms", "openat-close", "500").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	os.Chmod(rec, 0o644)
	out, stderr, err := replayAsNobody(t, "--replay", rec, "-o", "perfetto")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var trace struct {
		TraceEvents []struct {
			Name string         `json:"name"`
			Ph   string         `json:"ph"`
			PID  uint32         `json:"pid"`
			Args map[string]any `json:"args"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal([]byte(out), &trace); err != nil {
		t.Fatalf("the trace is not JSON: %v", err)
	}
	summary, stderr, err := replayAsNobody(t, "--replay", rec, "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var rep report
	if err := json.Unmarshal([]byte(summary), &rep); err != nil {
		t.Fatal(err)
	}
	var pid uint32
	var opens uint64
	for _, p := range rep.Procs {
		if p.Comm == "workload" {
			pid, opens = p.PID, p.syscall("openat").Calls
		}
	}
	counters, workload, slices, exited := 0, false, uint64(0), false
	for _, e := range trace.TraceEvents {
		switch {
		case e.Ph == "i" && e.Name == "exit" && e.PID == pid:
			exited = e.Args["code"] == 0.0
		case e.Ph == "C" && e.Name == "syscalls/s":
			counters++
		case e.Ph == "M" && fmt.Sprint(e.Args["name"]) == "workload":
			workload = true
		case e.Ph == "X" && e.Name == "openat" && e.PID == pid:
			slices++
		}
	}
	if counters < 2 || !workload || opens < 500 || slices != opens || !exited {
		t.Errorf("the trace has %d counter points, the workload %v, %d openat slices of pid %d, its exit with 0 %v; it counted %d", counters, workload, slices, pid, exited, opens)
	}
	out, stderr, err = replayAsNobody(t, "--replay", rec, "--diff", rec, "--from", "0s,100ms", "--to", "100ms,10s", "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var d struct {
		Syscalls []struct{ Name string } `json:"syscalls"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil || len(d.Syscalls) == 0 {
		t.Errorf("the diff: %v\n%s", err, out)
	}
}
