package session

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"tlmon/collector"
)

// A command's cgroup is named after the tlmon that made it, by PID and start
// time (PIDs are reused): tlmon-PID-START. Its owner is gone when no process
// with that PID started at that time. Versions before named it tlmon-PID:
// gone when no tlmon has that PID.
var cgroupNameRe = regexp.MustCompile(`^tlmon-([0-9]+)(?:-([0-9]+))?$`)

// ownCgroupName is the name of the cgroup this tlmon makes for its command.
func ownCgroupName() string {
	pid := uint32(os.Getpid())
	start, _ := collector.StartTicks(pid)
	return fmt.Sprintf("tlmon-%d-%d", pid, start)
}

// ownerGone says whether the tlmon named by a command cgroup's name has ended.
func ownerGone(name string) bool {
	m := cgroupNameRe.FindStringSubmatch(name)
	if m == nil {
		return false
	}
	pid, err := strconv.ParseUint(m[1], 10, 32)
	if err != nil {
		return false
	}
	if m[2] == "" {
		comm, err := os.ReadFile(fmt.Sprintf("%s/%d/comm", procRoot, pid))
		return err != nil || strings.TrimSpace(string(comm)) != "tlmon"
	}
	start, err := strconv.ParseUint(m[2], 10, 64)
	if err != nil {
		return false
	}
	now, err := collector.StartTicks(uint32(pid))
	return err != nil || now != start
}

// RemoveStaleCgroups removes the command cgroups of tlmons that are gone (a
// tlmon killed with SIGKILL cannot remove its own), killing what still runs
// in them: the commands of those tlmons, which should have ended with them. A
// running tlmon's cgroup, and any cgroup not named like one, is never touched.
// It returns the cgroups removed.
func RemoveStaleCgroups(cg *collector.Cgroups) []string {
	if cg == nil {
		return nil
	}
	var stale []string
	_ = filepath.WalkDir(cg.Mount, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if cgroupNameRe.MatchString(d.Name()) {
			if ownerGone(d.Name()) {
				stale = append(stale, path)
			}
			return filepath.SkipDir // a command's own cgroups are its business
		}
		return nil
	})
	var removed []string
	for _, dir := range stale {
		killCgroup(dir, syscall.SIGKILL)
		if removeCgroupTree(dir) == nil {
			removed = append(removed, dir)
		}
	}
	return removed
}

// signalCgroup sends sig to every process in dir and the cgroups below it.
func signalCgroup(dir string, sig syscall.Signal) {
	for _, d := range cgroupTree(dir) {
		b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
				syscall.Kill(pid, sig)
			}
		}
	}
}

// killCgroup ends every process in dir and below: SIGKILL at once through
// cgroup.kill (5.14+) when sig is SIGKILL, else sig, then SIGKILL after the
// grace period to whatever is left.
func killCgroup(dir string, sig syscall.Signal) {
	if sig != syscall.SIGKILL {
		signalCgroup(dir, sig)
		if waitCgroupEmpty(dir, stopGrace) {
			return
		}
	}
	if os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0) != nil {
		signalCgroup(dir, syscall.SIGKILL)
	}
	waitCgroupEmpty(dir, time.Second)
}

// waitCgroupEmpty waits up to d for dir and its descendants to hold no process.
func waitCgroupEmpty(dir string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		empty := true
		for _, sub := range cgroupTree(dir) {
			if b, err := os.ReadFile(filepath.Join(sub, "cgroup.procs")); err == nil && len(strings.TrimSpace(string(b))) > 0 {
				empty = false
				break
			}
		}
		if empty || time.Now().After(deadline) {
			return empty
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// removeCgroupTree removes dir and the cgroups below it, deepest first,
// retrying for a moment while killed processes leave them (EBUSY).
func removeCgroupTree(dir string) error {
	tree := cgroupTree(dir)
	slices.Reverse(tree)
	deadline := time.Now().Add(time.Second)
	for _, d := range tree {
		for {
			err := os.Remove(d)
			if err == nil || errors.Is(err, fs.ErrNotExist) {
				break
			}
			if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
				return err
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// cgroupTree lists dir and every cgroup below it, parents first.
func cgroupTree(dir string) []string {
	var tree []string
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			tree = append(tree, path)
		}
		return nil
	})
	return tree
}
