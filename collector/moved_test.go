package collector

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tlmon/aggregator"
	"tlmon/bpf"
	"tlmon/internal/probetest"
)

// TestAChildMovedAfterForkIsNamedByItsNewCgroup forks a subshell (a fork
// without exec) and moves it into another cgroup, as a container runtime or a
// service manager does with its children: the collector must read the
// child's cgroup again after a while and name it by the new one.
func TestAChildMovedAfterForkIsNamedByItsNewCgroup(t *testing.T) {
	p := probetest.Load(t, bpf.Options{})
	cg, err := FindCgroups()
	if err != nil {
		t.Skip(err)
	}
	name := fmt.Sprintf("/tlmon-test-moved-%d", os.Getpid())
	dir := filepath.Join(cg.Mount, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot make a cgroup: %v", err)
	}
	defer os.Remove(dir)

	agg := aggregator.New(aggregator.Config{CgroupPath: cg.Path})
	c, err := New(Config{Probe: p, Sink: agg, Interval: time.Hour, Cgroups: cg})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	defer c.Close()

	sh := exec.Command("/bin/sh", "-c", "(read x); :")
	stdin, err := sh.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		sh.Process.Kill()
		sh.Wait()
	}()
	var sub int
	deadline := time.Now().Add(5 * time.Second)
	for sub == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", sh.Process.Pid, sh.Process.Pid))
		if f := strings.Fields(string(b)); len(f) > 0 {
			sub, _ = strconv.Atoi(f[0])
		}
	}
	if sub == 0 {
		t.Fatal("the subshell never started")
	}
	defer func() { // out of the cgroup again, so that it can be removed
		stdin.Close()
		sh.Wait()
	}()
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(sub)), 0); err != nil {
		t.Skipf("cannot move the subshell: %v", err)
	}
	deadline = time.Now().Add(5 * time.Second)
	got := ""
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		for _, ps := range agg.Snapshot().Processes {
			if ps.ID.PID == uint32(sub) {
				got = ps.CgroupPath
			}
		}
		if got == name {
			return
		}
	}
	t.Fatalf("the subshell moved to %s is named by cgroup %q", name, got)
}
