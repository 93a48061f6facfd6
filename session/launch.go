package session

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"tlmon/collector"
)

// Command is a program tlmon starts and watches. Where it can, it is born
// inside a cgroup of its own (clone3 with CLONE_INTO_CGROUP), so the cgroup
// scope covers it from its very first instruction, and its execve is counted
// exactly once. Its life is tied to tlmon's: Stop ends it and everything it
// started when tlmon ends, and the kernel kills it (a parent-death signal)
// when tlmon is killed outright; the cgroup that SIGKILL leaves behind is
// removed by the next tlmon (RemoveStaleCgroups).
type Command struct {
	Cmd       *exec.Cmd
	CgroupDir string // "" without a cgroup of its own

	started bool
	done    chan struct{} // closed once the command was waited for
	err     error         // Wait's result, set before done is closed
}

// PrepareCommand makes an exec.Cmd for args and, with cg, a fresh cgroup
// under tlmon's own v2 cgroup that it will be born in. Under sudo the command
// runs as the invoking user (SUDO_UID/SUDO_GID), like the user would expect
// of `sudo tlmon -- make`. Call Start once the scope is set.
func PrepareCommand(cg *collector.Cgroups, args []string) (*Command, error) {
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
	// SIGKILL when tlmon's thread that started it dies: tlmon killed with
	// SIGKILL cannot stop it otherwise. (The kernel clears it when the command
	// execs a set-user-ID program.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if cred != nil {
		cmd.Env = userEnv(os.Environ(), os.Getenv("SUDO_UID"))
	}
	c := &Command{Cmd: cmd, done: make(chan struct{})}
	if cg == nil {
		return c, nil
	}
	dir := filepath.Join(cg.Mount, ownCgroup(), ownCgroupName())
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("cannot make a cgroup for the command under %s (permission denied): a command needs root; watch it with --pid", filepath.Dir(dir))
		}
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

// Start starts the command; its cgroup fd is no longer needed afterwards. A
// goroutine waits for it on the OS thread that started it, held for the
// command's life: the parent-death signal follows that thread, which Go could
// otherwise end while the command runs.
func (c *Command) Start() error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		err := c.Cmd.Start()
		started <- err
		if err == nil {
			c.err = c.Cmd.Wait()
			close(c.done)
		}
	}()
	err := <-started
	if c.CgroupDir != "" {
		syscall.Close(c.Cmd.SysProcAttr.CgroupFD)
	}
	if err != nil {
		return fmt.Errorf("cannot start %s: %w", c.Cmd.Args[0], unwrapExec(err))
	}
	c.started = true
	return nil
}

// Done is closed when the command has exited (never, if it was not started).
func (c *Command) Done() <-chan struct{} { return c.done }

// Err is the command's exit as exec.Cmd.Wait reports it: nil for status 0.
// Call it once Done is closed.
func (c *Command) Err() error { return c.err }

// stopGrace is how long a command has to end after sig before it is killed.
const stopGrace = 3 * time.Second

// Stop ends the command, if it still runs, and removes its cgroup: sig to
// every process of its cgroup (else to the command alone), SIGKILL to what is
// left after a grace period. What the command left behind in its cgroup (a
// daemon it forked) goes too, even after the command itself ended: the cgroup
// is the command's. Stop returns the command's exit as Err does (nil for a
// command never started) and may be called more than once.
func (c *Command) Stop(sig syscall.Signal) error {
	if !c.started {
		c.Cleanup()
		return nil
	}
	if c.CgroupDir != "" {
		killCgroup(c.CgroupDir, sig)
		sig = syscall.SIGKILL // only if it left its cgroup, which it may
	}
	select {
	case <-c.done:
	default:
		c.Cmd.Process.Signal(sig)
		select {
		case <-c.done:
		case <-time.After(stopGrace):
			c.Cmd.Process.Kill()
			<-c.done
		}
	}
	c.Cleanup()
	return c.err
}

// Cleanup removes the command's cgroup (and any the command made inside it),
// waiting briefly for killed processes to leave it. It fails, harmlessly,
// while processes still live in it.
func (c *Command) Cleanup() {
	if c.CgroupDir != "" {
		removeCgroupTree(c.CgroupDir)
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

// loaderVars are the variables the dynamic loader and the C library obey
// (glibc's unsecure environment list, and every LD_ variable): sudo drops
// them, and so does tlmon for a command it runs as the user who typed sudo.
var loaderVars = map[string]bool{
	"GCONV_PATH": true, "GETCONF_DIR": true, "HOSTALIASES": true, "LOCALDOMAIN": true, "LOCPATH": true,
	"MALLOC_TRACE": true, "NIS_PATH": true, "NLSPATH": true, "RESOLV_HOST_CONF": true, "RES_OPTIONS": true,
	"TMPDIR": true, "TZDIR": true,
}

// userEnv is env for a command run as user uid: without the loader's
// variables, and with HOME, USER and LOGNAME the user's, not root's.
func userEnv(env []string, uid string) []string {
	var home, name string
	if u, err := user.LookupId(uid); err == nil {
		home, name = u.HomeDir, u.Username
	}
	out := make([]string, 0, len(env)+3)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "LD_") || loaderVars[k] || (name != "" && (k == "HOME" || k == "USER" || k == "LOGNAME")) {
			continue
		}
		out = append(out, kv)
	}
	if name != "" {
		out = append(out, "HOME="+home, "USER="+name, "LOGNAME="+name)
	}
	return out
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
