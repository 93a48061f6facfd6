package collector

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Cgroups finds the cgroup v2 hierarchy and names cgroups by id. A cgroup v2 id
// is the inode number of its directory. On hybrid hosts (v1 controllers plus a v2
// tree at /sys/fs/cgroup/unified) every process may sit at the v2 root: tlmon
// scopes by v2 all the same, as only v2 ids reach BPF.
type Cgroups struct {
	Mount string
	// Hybrid says cgroup v1 hierarchies are mounted too.
	Hybrid bool

	mu    sync.Mutex
	names map[uint64]string
}

// ErrNoCgroup2 is returned when no cgroup v2 hierarchy is mounted.
var ErrNoCgroup2 = errors.New("no cgroup v2 hierarchy is mounted")

// FindCgroups locates the cgroup v2 mount from /proc/self/mountinfo.
func FindCgroups() (*Cgroups, error) {
	f, err := os.Open(procRoot + "/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var c *Cgroups
	hybrid := false
	for sc.Scan() {
		// ... mount-point ... - fstype source options
		fields := strings.Fields(sc.Text())
		for i, fld := range fields {
			if fld != "-" || i+1 >= len(fields) || len(fields) <= 4 {
				continue
			}
			switch fields[i+1] {
			case "cgroup2":
				if c == nil {
					c = &Cgroups{Mount: fields[4], names: map[uint64]string{}}
				}
			case "cgroup":
				hybrid = true
			}
		}
	}
	if c != nil {
		c.Hybrid = hybrid
		return c, nil
	}
	return nil, ErrNoCgroup2
}

// Resolve turns a user's --cgroup argument (a path inside the v2 hierarchy, or
// an absolute path under its mount) into an absolute directory, checking that it
// is a cgroup v2 directory.
func (c *Cgroups) Resolve(arg string) (string, error) {
	dir := arg
	if !strings.HasPrefix(arg, c.Mount+"/") && arg != c.Mount {
		dir = filepath.Join(c.Mount, arg)
	}
	var st unix.Statfs_t
	// An absolute path elsewhere may be a cgroup v1 directory (hybrid hosts):
	// say so rather than that it does not exist.
	if filepath.IsAbs(arg) && dir != arg && unix.Statfs(arg, &st) == nil && st.Type == unix.CGROUP_SUPER_MAGIC {
		return "", fmt.Errorf("cgroup %s: a cgroup v1 directory; tlmon scopes by cgroup v2, mounted at %s", arg, c.Mount)
	}
	if err := unix.Statfs(dir, &st); err != nil {
		return "", fmt.Errorf("cgroup %s: no such cgroup under %s", arg, c.Mount)
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		return "", fmt.Errorf("cgroup %s: not a cgroup v2 directory", arg)
	}
	return dir, nil
}

// ID returns the id of the cgroup directory dir.
func ID(dir string) (uint64, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return 0, err
	}
	return fi.Sys().(*syscall.Stat_t).Ino, nil
}

// ofProc returns a process's v2 cgroup id (0 if unknown) and its v1 label
// (see V1Label) from one read of /proc/PID/cgroup.
func (c *Cgroups) ofProc(pid uint32) (id uint64, v1 string) {
	text := readProcCgroup(pid)
	if p := v2Path(text); p != "" {
		id, _ = ID(filepath.Join(c.Mount, p))
	}
	return id, V1Label(text)
}

// PathOfProc returns a process's path in the v2 hierarchy ("" if unknown).
func (c *Cgroups) PathOfProc(pid uint32) string {
	return v2Path(readProcCgroup(pid))
}

func readProcCgroup(pid uint32) string {
	b, _ := os.ReadFile(fmt.Sprintf("%s/%d/cgroup", procRoot, pid))
	return string(b)
}

// v2Path takes the v2 line ("0::path") of /proc/PID/cgroup's text.
func v2Path(procCgroup string) string {
	for _, line := range strings.Split(procCgroup, "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			return rest
		}
	}
	return ""
}

// V1Label names where a process sits in the cgroup v1 hierarchies, from the text
// of /proc/PID/cgroup: its name=systemd path when that is not the root (the
// grouping by unit on hybrid systemd hosts), else the first controller whose
// path is not the root, as "controller:path"; "" on pure v2 hosts or when every
// v1 path is the root.
func V1Label(procCgroup string) string {
	first := ""
	for _, line := range strings.Split(procCgroup, "\n") {
		// hierarchy-id:controllers:path; v2 is "0::path".
		id, rest, ok := strings.Cut(line, ":")
		if !ok || id == "0" {
			continue
		}
		ctrl, path, ok := strings.Cut(rest, ":")
		if !ok || path == "/" || path == "" {
			continue
		}
		if ctrl == "name=systemd" {
			return path
		}
		if first == "" {
			first = ctrl + ":" + path
		}
	}
	return first
}

// Path names a cgroup id as a path inside the hierarchy ("/" for the root, ""
// when unknown). Misses rescan the tree, so cgroups made later are found.
func (c *Cgroups) Path(id uint64) string {
	if c == nil || id == 0 {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.names[id]; ok {
		return p
	}
	clear(c.names)
	_ = filepath.WalkDir(c.Mount, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if fid, err := ID(path); err == nil {
			rel := strings.TrimPrefix(path, c.Mount)
			if rel == "" {
				rel = "/"
			}
			c.names[fid] = rel
		}
		return nil
	})
	p, ok := c.names[id]
	if !ok {
		c.names[id] = "" // do not rescan for this id again
	}
	return p
}
