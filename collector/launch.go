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

// Command is a program tlmon starts and watches. Where it can, it is born
// inside a cgroup of its own (clone3 with CLONE_INTO_CGROUP), so the cgroup
// scope covers it from its very first instruction, and its execve is counted
// exactly once.
type Command struct {
	Cmd       *exec.Cmd
	CgroupDir string // "" without a cgroup of its own
}

// PrepareCommand makes an exec.Cmd for args and, with cg, a fresh cgroup
// under tlmon's own v2 cgroup that it will be born in. Under sudo the command
// runs as the invoking user (SUDO_UID/SUDO_GID), like the user would expect
// of `sudo tlmon -- make`. Call Start once the scope is set.
func PrepareCommand(cg *Cgroups, args []string) (*Command, error) {
	path, err := exec.LookPath(args[0])
	if err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", args[0], unwrapExec(err))
	}
	cred, err := sudoCredential()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args[1:]...)
	cmd.Args[0] = args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	c := &Command{Cmd: cmd}
	if cg == nil {
		return c, nil
	}
	dir := filepath.Join(cg.Mount, ownCgroup(), fmt.Sprintf("tlmon-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("make a cgroup for the command: %w", err)
	}
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		os.Remove(dir)
		return nil, fmt.Errorf("open the command's cgroup: %w", err)
	}
	cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	c.CgroupDir = dir
	return c, nil
}

// dropCgroup makes the command start as a plain child of tlmon, for a probe
// without a cgroup scope (rungs 3 and 4): being born in a cgroup needs
// clone3 (5.3), which their kernels may lack.
func (c *Command) dropCgroup() {
	if c.CgroupDir == "" {
		return
	}
	syscall.Close(c.Cmd.SysProcAttr.CgroupFD)
	c.Cmd.SysProcAttr.UseCgroupFD, c.Cmd.SysProcAttr.CgroupFD = false, 0
	c.Cleanup()
	c.CgroupDir = ""
}

// Start starts the command; its cgroup fd is no longer needed afterwards.
func (c *Command) Start() error {
	err := c.Cmd.Start()
	if c.CgroupDir != "" {
		syscall.Close(c.Cmd.SysProcAttr.CgroupFD)
	}
	if err != nil {
		return fmt.Errorf("cannot start %s: %w", c.Cmd.Args[0], unwrapExec(err))
	}
	return nil
}

// Cleanup removes the command's cgroup. It fails, harmlessly, while processes
// the command left behind still live in it.
func (c *Command) Cleanup() {
	if c.CgroupDir != "" {
		os.Remove(c.CgroupDir)
	}
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
