package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tlmon/internal/bpftest"
)

// TestMonitorFlowsOfAnHtopUser walks the real monitor at 80×24 through what
// a user coming from htop or less does first: help, closed the way it says;
// a search and its next match; a filter on one column; scrolling the columns
// sideways; the column chooser; writing the list to a file; F10 to quit.
func TestMonitorFlowsOfAnHtopUser(t *testing.T) {
	bpftest.Require(t)
	dir := t.TempDir()
	loop := `while :; do cat /etc/hostname >/dev/null; sleep 0.1; done`
	s := startTmux(t, 80, 24, fmt.Sprintf("cd %s && %s -i 200ms --theme mono -- sh -c '%s'", dir, tlmonBin, loop))
	s.waitForRe(`\d+ sh `, 10*time.Second)
	tl := s.tlmonPID()

	s.keys("?")
	s.waitFor("KEYS", 5*time.Second)
	s.keys("q") // the help says q closes it: it must not quit tlmon
	s.waitGone("KEYS", 5*time.Second)
	if s.tlmonPID() != tl {
		t.Fatal("q in the help quit tlmon")
	}

	s.keys("/", "sh", "Enter")
	s.waitForRe(`(?m)^>\s+\d+ sh `, 5*time.Second)
	s.keys("n") // the next match, not the network class
	if scr := s.screen(); !strings.Contains(scr, "●n") {
		t.Errorf("n after a search touched the network class:\n%s", scr)
	}

	s.keys(`\`, "comm:sh", "Enter")
	scr := s.waitFor(`match \comm:sh`, 5*time.Second)
	for _, line := range rows(scr) {
		if !regexp.MustCompile(`^\S*\s+\d+ sh `).MatchString(line) {
			t.Errorf("the filter comm:sh shows a row of another command: %q", line)
		}
	}
	s.keys("Escape")
	s.waitGone("comm:sh", 5*time.Second)

	// The table's header: under the tabs and the history's strip.
	head := func() string {
		for _, line := range strings.Split(s.screen(), "\n") {
			if strings.Contains(line, "PID") && strings.Contains(line, "COMM") {
				return line
			}
		}
		return ""
	}
	if h := head(); !strings.HasSuffix(strings.TrimRight(h, " "), "›") {
		t.Fatalf("at 80 columns the header does not say columns are left out: %q", h)
	}
	s.keys("Right", "Right", "Right")
	s.waitFor("‹", 5*time.Second)
	if h := head(); !strings.Contains(h, "PID COMM") || strings.Contains(h, "SYSCALLS/s") {
		t.Errorf("after → → → the header is %q, want PID and COMM kept and the first counts scrolled off", h)
	}
	s.keys("Left", "Left", "Left")

	s.waitGone("‹", 5*time.Second)

	s.keys("o")
	s.waitFor("COLUMNS", 5*time.Second)
	s.keys("Escape")
	s.waitGone("COLUMNS", 5*time.Second)

	s.keys("w")
	s.waitFor("rows written to tlmon-processes-", 5*time.Second)
	files, _ := filepath.Glob(filepath.Join(dir, "tlmon-processes-*.csv"))
	if len(files) != 1 {
		t.Fatalf("w wrote %v; the screen says:\n%s", files, scr)
	}
	if b, err := os.ReadFile(files[0]); err != nil || !strings.HasPrefix(string(b), "PID,COMM,") || !strings.Contains(string(b), ",sh,") {
		t.Errorf("the CSV written is %q (%v)", b, err)
	}

	s.keys("F10")
	s.waitRestored(tl)
}

// rows are the table's rows on a screen of the monitor: the lines between
// the column titles and the status line that begin with a PID.
func rows(screen string) []string {
	var out []string
	for _, line := range strings.Split(screen, "\n")[4:] {
		if regexp.MustCompile(`^.{0,2}\s+\d+ `).MatchString(line) {
			out = append(out, line)
		}
	}
	return out
}

// TestMonitorMovesBackThroughTheHistory: live, [ shows the moment before
// with its time and a cursor in the strip, = goes back to live, and A, B
// and D compare two moments.
func TestMonitorMovesBackThroughTheHistory(t *testing.T) {
	bpftest.Require(t)
	s := startTmux(t, 120, 40, fmt.Sprintf("%s -i 200ms --theme mono", tlmonBin))
	s.waitFor(" live", 10*time.Second)
	time.Sleep(time.Second) // a few moments
	tl := s.tlmonPID()
	s.keys("[")
	scr := s.waitForRe(`\d\d:\d\d:\d\d · \d+(\.\d+)?m?s ago`, 5*time.Second)
	if !strings.Contains(strings.Split(scr, "\n")[3], "┃") {
		t.Errorf("the strip has no cursor at a past moment:\n%s", scr)
	}
	s.keys("A", "=")
	s.waitFor(" live", 5*time.Second)
	s.keys("B", "D")
	scr = s.waitFor("› diff A ", 5*time.Second)
	if !strings.Contains(scr, "ΔCALLS/s") {
		t.Errorf("D shows no diff:\n%s", scr)
	}
	s.keys("q")
	s.waitRestored(tl)
}

// TestMonitorPlaysARecording: a recording replays in the monitor as a user
// who is not root: it plays, + speeds it up, [ steps back in it, q quits.
func TestMonitorPlaysARecording(t *testing.T) {
	bpftest.Require(t)
	rec := filepath.Join(recordDir(t), "r.tlmon")
	if out, err := exec.Command(tlmonBin, "--record", rec, "-i", "200ms", "-d", "3s").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	os.Chmod(rec, 0o644)
	s := startTmux(t, 120, 40, fmt.Sprintf("setpriv --reuid 65534 --regid 65534 --clear-groups %s --replay %s --theme mono; echo replay-exit-$?", tlmonBin, rec))
	s.waitForRe(`▶ \d\d:\d\d:\d\d ×1`, 10*time.Second)
	s.keys("+")
	s.waitFor("playing at ×2", 5*time.Second)
	time.Sleep(300 * time.Millisecond) // past the first moment, which has none before it
	s.keys("[")
	s.waitForRe(`\d\d:\d\d:\d\d · \d+(\.\d+)?m?s ago`, 5*time.Second)
	s.keys("p")
	s.waitForRe(`▶ \d\d:\d\d:\d\d ×2|end of the recording`, 5*time.Second)
	s.keys("q")
	if scr := s.waitFor("replay-exit-", 10*time.Second); !strings.Contains(scr, "replay-exit-0") {
		t.Errorf("the replay did not end cleanly:\n%s", scr)
	}
}

// TestCountedClassesAreCountedInTheKernel: --counted file counts a
// command's openat calls and nothing of another class; --counted process
// none of them.
func TestCountedClassesAreCountedInTheKernel(t *testing.T) {
	bpftest.Require(t)
	for counted, want := range map[string]uint64{"file": 100, "process": 0} {
		out, err := exec.Command(tlmonBin, "--counted", counted, "-o", "json", "--", workloadBin, "openat-close", "100").Output()
		if err != nil {
			t.Fatalf("--counted %s: %v", counted, err)
		}
		s := string(out)
		var rep report
		if err := json.Unmarshal([]byte(s[strings.LastIndex(strings.TrimRight(s, "\n"), "\n")+1:]), &rep); err != nil {
			t.Fatal(err)
		}
		var opens uint64
		for _, p := range rep.Procs {
			if p.Comm == "workload" {
				opens = p.syscall("openat").Calls
			}
		}
		if counted == "file" && opens < want || counted == "process" && opens != 0 {
			t.Errorf("--counted %s: the workload's openat counted %d", counted, opens)
		}
		if counted == "file" && rep.syscall("getppid").Calls+rep.syscall("clone").Calls != 0 {
			t.Errorf("--counted file counted other classes: %+v", rep.Syscalls)
		}
	}
}
