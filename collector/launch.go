package collector

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Command is a program tlmon starts and watches. It is born inside a cgroup of
// its own (clone3 with CLONE_INTO_CGROUP), so the cgroup scope covers it from its
// very first instruction, and its execve is counted exactly once.
type Command struct {
	Cmd       *exec.Cmd
	CgroupDir string
}

// PrepareCommand makes a fresh cgroup for args under tlmon's own v2 cgroup and
// an exec.Cmd that will be born in it. Under sudo the command runs as the
// invoking user (SUDO_UID/SUDO_GID), like the user would expect of
// `sudo tlmon -- make`. Call Start once the scope is set.
func PrepareCommand(cg *Cgroups, args []string) (*Command, error) {
	if cg == nil {
		return nil, ErrNoCgroup2
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", args[0], unwrapExec(err))
	}
	own := ownCgroup()
	dir := filepath.Join(cg.Mount, own, fmt.Sprintf("tlmon-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("make a cgroup for the command: %w", err)
	}
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		os.Remove(dir)
		return nil, fmt.Errorf("open the command's cgroup: %w", err)
	}
	cmd := exec.Command(path, args[1:]...)
	cmd.Args[0] = args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	cred, err := sudoCredential()
	if err != nil {
		syscall.Close(fd)
		os.Remove(dir)
		return nil, err
	}
	cmd.SysProcAttr.Credential = cred
	return &Command{Cmd: cmd, CgroupDir: dir}, nil
}

// Start starts the command; its cgroup fd is no longer needed afterwards.
func (c *Command) Start() error {
	err := c.Cmd.Start()
	syscall.Close(c.Cmd.SysProcAttr.CgroupFD)
	if err != nil {
		return fmt.Errorf("cannot start %s: %w", c.Cmd.Args[0], unwrapExec(err))
	}
	return nil
}

// Cleanup removes the command's cgroup. It fails, harmlessly, while processes
// the command left behind still live in it.
func (c *Command) Cleanup() {
	os.Remove(c.CgroupDir)
}

func unwrapExec(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ownCgroup is this process's path in the v2 hierarchy ("/" if unknown).
func ownCgroup() string {
	b, err := os.ReadFile(procRoot + "/self/cgroup")
	if err != nil {
		return "/"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			return rest
		}
	}
	return "/"
}

// sudoCredential returns the invoking user's identity under sudo, nil otherwise.
func sudoCredential() (*syscall.Credential, error) {
	su, sg := os.Getenv("SUDO_UID"), os.Getenv("SUDO_GID")
	if su == "" || os.Geteuid() != 0 {
		return nil, nil
	}
	uid, err := strconv.ParseUint(su, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("SUDO_UID=%q is not a user id", su)
	}
	gid := uint64(uid)
	if sg != "" {
		if gid, err = strconv.ParseUint(sg, 10, 32); err != nil {
			return nil, fmt.Errorf("SUDO_GID=%q is not a group id", sg)
		}
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if u, err := user.LookupId(su); err == nil {
		if ids, err := u.GroupIds(); err == nil {
			for _, id := range ids {
				if g, err := strconv.ParseUint(id, 10, 32); err == nil {
					cred.Groups = append(cred.Groups, uint32(g))
				}
			}
		}
	}
	return cred, nil
}
