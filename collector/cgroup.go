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
	for sc.Scan() {
		// ... mount-point ... - fstype source options
		fields := strings.Fields(sc.Text())
		for i, fld := range fields {
			if fld == "-" && i+1 < len(fields) && fields[i+1] == "cgroup2" && len(fields) > 4 {
				return &Cgroups{Mount: fields[4], names: map[uint64]string{}}, nil
			}
		}
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

// IDOfProc returns the v2 cgroup id of a process (0 if unknown).
func (c *Cgroups) IDOfProc(pid uint32) uint64 {
	p := c.PathOfProc(pid)
	if p == "" {
		return 0
	}
	id, err := ID(filepath.Join(c.Mount, p))
	if err != nil {
		return 0
	}
	return id
}

// PathOfProc returns a process's path in the v2 hierarchy ("" if unknown).
func (c *Cgroups) PathOfProc(pid uint32) string {
	b, err := os.ReadFile(fmt.Sprintf("%s/%d/cgroup", procRoot, pid))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			return rest
		}
	}
	return ""
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
