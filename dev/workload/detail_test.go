//go:build linux

package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tlmon/model"
)

// detailKeys are the report keys each detail mode prints besides the seven
// (for N > 0: zero values are left out).
var detailKeys = map[string][]string{
	"open-unique":   {"path", "missing_path", "flags"},
	"hostile-open":  {"path", "comm", "flags"},
	"tcp-pair":      {"port", "listen_fd", "server_pid", "client_pid", "client_calls", "conns"},
	"exec-exit7":    {"filename", "argv", "exit_code"},
	"kill-usr1":     {"filename", "argv", "signal"},
	"slow-read":     {"fd", "write_fd", "count", "slow_reads", "fast_reads", "slow_ms", "bytes_read", "slow_min_ns", "fast_max_ns"},
	"compat-getpid": {"compat", "compat_nr", "compat_ret"},
}

// detailCase is one detail mode: what its report must say, and what strace,
// run with straceArgs, must have seen of it.
type detailCase struct {
	mode       string
	n          int
	check      func(t *testing.T, r report, n int)
	straceArgs []string
	traced     func(t *testing.T, r report, n int, out string)
}

// The strace flags of the per-call checks: strings in full, every byte as
// \xHH (parsed by quoted), one output with thread ids, and the time in each
// call.
var straceCalls = []string{"-f", "-xx", "-s", "65536", "-T"}

func detailCases() []detailCase {
	return []detailCase{
		{mode: "open-unique", n: 50, check: checkOpenUnique,
			straceArgs: slices.Concat(straceCalls, []string{"-e", "trace=openat,close,unlinkat"}), traced: tracedOpenUnique},
		{mode: "hostile-open", n: 20, check: checkHostileOpen,
			straceArgs: slices.Concat(straceCalls, []string{"-e", "trace=openat"}), traced: tracedHostileOpen},
		{mode: "tcp-pair", n: 50, check: checkTCPPair,
			straceArgs: slices.Concat(straceCalls, []string{"-e", "trace=clone,execve,wait4,socket,connect,accept4,getsockname,getpeername,close"}), traced: tracedTCPPair},
		{mode: "exec-exit7", n: 20, check: checkExecExit7,
			straceArgs: slices.Concat(straceCalls, []string{"-e", "trace=clone,execve,wait4,exit_group"}), traced: tracedExecExit7},
		{mode: "kill-usr1", n: 10, check: checkKillUsr1,
			straceArgs: slices.Concat(straceCalls, []string{"-e", "trace=kill,wait4"}), traced: tracedKillUsr1},
		{mode: "slow-read", n: 3, check: checkSlowRead,
			straceArgs: slices.Concat(straceCalls, []string{"-e", "trace=read,write,clock_nanosleep"}), traced: tracedSlowRead},
		// strace -f names a 32-bit call like the native one of the same name;
		// only its summary tells them apart.
		{mode: "compat-getpid", n: 100, check: checkCompatGetpid,
			straceArgs: []string{"-f", "-c", "-U", "name,calls,errors", "-S", "name"}, traced: tracedCompatGetpid},
	}
}

func TestDetailModes(t *testing.T) {
	for _, c := range detailCases() {
		t.Run(fmt.Sprintf("%s-%d", c.mode, c.n), func(t *testing.T) {
			skipWithoutCompat(t, c.mode)
			r, code := run(t, c.mode, strconv.Itoa(c.n))
			checkDetail(t, c, r, code)
		})
	}
}

// TestDetailStrace runs each detail mode under strace, attached after setup,
// and checks the calls strace saw, one by one, against the report.
func TestDetailStrace(t *testing.T) {
	for _, c := range detailCases() {
		t.Run(fmt.Sprintf("%s-%d", c.mode, c.n), func(t *testing.T) {
			skipWithoutCompat(t, c.mode)
			r, code, out := straceRun(t, c.straceArgs, c.mode, strconv.Itoa(c.n))
			checkDetail(t, c, r, code)
			if t.Failed() {
				return
			}
			c.traced(t, r, c.n, out)
			if lines := strings.SplitAfter(out, "\n"); t.Failed() {
				t.Logf("strace output (first 50 of %d lines):\n%s", len(lines), strings.Join(lines[:min(50, len(lines))], ""))
			}
		})
	}
}

func checkDetail(t *testing.T, c detailCase, r report, code int) {
	t.Helper()
	if r.Mode != c.mode || code != 0 {
		t.Fatalf("mode %q exited %d, want %q exiting 0", r.Mode, code, c.mode)
	}
	c.check(t, r, c.n)
}

// skipWithoutCompat skips compat-getpid where it cannot run: on other
// architectures it must fail instead, and on a kernel without the 32-bit entry
// it must say so.
func skipWithoutCompat(t *testing.T, mode string) {
	t.Helper()
	if mode != "compat-getpid" {
		return
	}
	out, err := exec.Command(binary, mode, "0").CombinedOutput()
	switch {
	case runtime.GOARCH != "amd64":
		if err == nil || !strings.Contains(string(out), "amd64 only") {
			t.Errorf("compat-getpid on %s: %v, %s; want a failure saying amd64 only", runtime.GOARCH, err, out)
		}
		t.Skipf("no int $0x80 on %s", runtime.GOARCH)
	case err != nil && strings.Contains(string(out), "no 32-bit entry"):
		t.Skipf("kernel without the 32-bit entry: %s", out)
	case err != nil:
		t.Fatalf("compat-getpid 0: %v, %s", err, out)
	}
}

// wantCalls checks the report's calls and errors.
func wantCalls(t *testing.T, r report, c calls, e errs) {
	t.Helper()
	if !maps.Equal(r.Calls, c) {
		t.Errorf("calls %v, want %v", r.Calls, c)
	}
	if e == nil {
		e = errs{}
	}
	if !maps.EqualFunc(r.Errors, e, maps.Equal) {
		t.Errorf("errors %v, want %v", r.Errors, e)
	}
}

// wantThreads checks that k distinct thread ids made the calls.
func wantThreads(t *testing.T, r report, k int) {
	t.Helper()
	if len(slices.Compact(slices.Sorted(slices.Values(r.Threads)))) != k || slices.Min(r.Threads) <= 0 {
		t.Errorf("threads %v, want %d distinct thread ids", r.Threads, k)
	}
}

// wantAbsent checks that nothing is at path.
func wantAbsent(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%q: lstat %v, want it not to exist", path, err)
	}
}

func checkOpenUnique(t *testing.T, r report, n int) {
	wantCalls(t, r, calls{"openat": uint64(2 * n), "close": uint64(n), "unlinkat": 1}, errs{"openat": {"ENOENT": uint64(n)}})
	wantThreads(t, r, 1)
	if r.Flags != unix.O_RDONLY|unix.O_CLOEXEC {
		t.Errorf("flags %#x, want O_RDONLY|O_CLOEXEC %#x", r.Flags, unix.O_RDONLY|unix.O_CLOEXEC)
	}
	if !filepath.IsAbs(r.Path) || r.MissingPath == r.Path || filepath.Dir(r.MissingPath) != filepath.Dir(r.Path) {
		t.Errorf("path %q, missing path %q: want two absolute paths in one directory", r.Path, r.MissingPath)
	}
	wantAbsent(t, r.Path) // unlinked in the measured phase
	wantAbsent(t, r.MissingPath)
}

func checkHostileOpen(t *testing.T, r report, n int) {
	wantCalls(t, r, calls{"openat": uint64(n)}, errs{"openat": {"ENOENT": uint64(n)}})
	wantThreads(t, r, 1)
	if r.Flags != unix.O_RDONLY|unix.O_CLOEXEC {
		t.Errorf("flags %#x, want O_RDONLY|O_CLOEXEC", r.Flags)
	}
	path, err := model.Unescape(r.Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"\x1b[2J", "\x1b]52;c;aGk=\a", "\nline2", "\u202e", "\xff"} {
		if !strings.Contains(path, s) {
			t.Errorf("path %q does not hold %q", path, s)
		}
	}
	wantAbsent(t, path)
	if comm, err := model.Unescape(r.Comm); err != nil || comm != hostileComm {
		t.Errorf("comm %q, want %q escaped", r.Comm, hostileComm)
	}
}

// loopback parses an "ip:port" of the report, which must be on 127.0.0.1.
func loopback(t *testing.T, s string) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Addr() != netip.MustParseAddr("127.0.0.1") || ap.Port() == 0 {
		t.Errorf("address %q: %v, want 127.0.0.1:PORT", s, err)
	}
	return ap
}

func checkTCPPair(t *testing.T, r report, n int) {
	k := uint64(n)
	wantCalls(t, r, calls{"clone": 1, "accept4": k, "getsockname": k, "getpeername": k, "close": k, "wait4": 1, "read": 1}, nil)
	wantThreads(t, r, 1)
	if want := (calls{"socket": k, "connect": k, "getsockname": k, "getpeername": k, "close": k}); !maps.Equal(r.ClientCalls, want) || r.ClientErrors != nil {
		t.Errorf("client calls %v, errors %v; want %v and none", r.ClientCalls, r.ClientErrors, want)
	}
	if r.ServerPID != r.PID || len(r.Children) != 1 || r.Children[0] != (child{PID: r.ClientPID}) || r.ClientPID == r.PID {
		t.Errorf("server %d, client %d, children %v: want the server to be the workload and the client its child, exited 0", r.ServerPID, r.ClientPID, r.Children)
	}
	if r.ListenFD < 3 {
		t.Errorf("listen_fd %d", r.ListenFD)
	}
	if len(r.Conns) != n {
		t.Fatalf("%d conns, want %d", len(r.Conns), n)
	}
	ports := map[uint16]bool{}
	for i, c := range r.Conns {
		cl, cp, sl, sp := loopback(t, c.ClientLocal), loopback(t, c.ClientPeer), loopback(t, c.ServerLocal), loopback(t, c.ServerPeer)
		if cp.Port() != uint16(r.Port) || sl != cp || sp != cl {
			t.Errorf("conn %d %+v: want the client's peer and the server's local at port %d, the client's local the server's peer", i, c, r.Port)
		}
		if ports[cl.Port()] {
			t.Errorf("conn %d: client port %d used before", i, cl.Port())
		}
		ports[cl.Port()] = true
	}
}

// wantChildren checks n distinct children, none the workload, each ended as
// want says (pid aside).
func wantChildren(t *testing.T, r report, n int, want child) {
	t.Helper()
	if len(r.Children) != n {
		t.Fatalf("%d children, want %d", len(r.Children), n)
	}
	pids := map[int]bool{}
	for i, ch := range r.Children {
		if ch.PID <= 0 || ch.PID == r.PID || pids[ch.PID] {
			t.Errorf("child %d: bad or repeated pid %d", i, ch.PID)
		}
		pids[ch.PID] = true
		if want.PID = ch.PID; ch != want {
			t.Errorf("child %d: %+v, want %+v", i, ch, want)
		}
	}
}

func checkExecExit7(t *testing.T, r report, n int) {
	wantCalls(t, r, calls{"clone": uint64(n), "wait4": uint64(n)}, nil)
	wantThreads(t, r, 1)
	wantChildren(t, r, n, child{ExitCode: 7})
	if r.Filename != "/bin/sh" || !slices.Equal(r.Argv, []string{"/bin/sh", "-c", "exit 7"}) || r.ExitCode != 7 {
		t.Errorf("filename %q, argv %q, exit code %d", r.Filename, r.Argv, r.ExitCode)
	}
}

func checkKillUsr1(t *testing.T, r report, n int) {
	wantCalls(t, r, calls{"kill": uint64(n), "wait4": uint64(n)}, nil)
	wantThreads(t, r, 1)
	wantChildren(t, r, n, child{ExitCode: -1, Signal: int(unix.SIGUSR1)})
	if r.Signal != "SIGUSR1" || r.Filename != "/bin/sleep" || len(r.Argv) == 0 || r.Argv[0] != r.Filename {
		t.Errorf("signal %q, filename %q, argv %q", r.Signal, r.Filename, r.Argv)
	}
}

func checkSlowRead(t *testing.T, r report, n int) {
	k := uint64(n)
	wantCalls(t, r, calls{"read": 2 * k, "write": 2 * k, "clock_nanosleep": k}, nil)
	wantThreads(t, r, 2)
	if r.FD < 3 || r.WriteFD < 3 || r.FD == r.WriteFD || r.Count != 4096 || r.SlowMS != 300 {
		t.Errorf("fd %d, write_fd %d, count %d, slow_ms %d", r.FD, r.WriteFD, r.Count, r.SlowMS)
	}
	if r.SlowReads != n || r.FastReads != n || r.BytesRead != 2*n*16 {
		t.Errorf("%d slow and %d fast reads of %d bytes, want %d and %d of %d", r.SlowReads, r.FastReads, r.BytesRead, n, n, 2*n*16)
	}
	// The helper's sleep starts just before the slow read: a few
	// milliseconds of slack for the scheduler.
	slow, fast := time.Duration(r.SlowMinNS), time.Duration(r.FastMaxNS)
	if slow < 290*time.Millisecond || slow > 2*time.Second || fast <= 0 || fast > 50*time.Millisecond {
		t.Errorf("fastest slow read %v, slowest fast read %v: want about 300ms and well under 50ms", slow, fast)
	}
	if d := time.Duration(r.Elapsed); d < time.Duration(n)*290*time.Millisecond {
		t.Errorf("elapsed %v for %d slow reads", d, n)
	}
}

func checkCompatGetpid(t *testing.T, r report, n int) {
	wantCalls(t, r, calls{"getpid": uint64(n)}, nil)
	wantThreads(t, r, 1)
	if !r.Compat || r.CompatNr != 20 || r.CompatRet != r.PID {
		t.Errorf("compat %v, nr %d, returned %d; want true, 20 and the pid %d", r.Compat, r.CompatNr, r.CompatRet, r.PID)
	}
}

// straceCall is one system call in strace -f -T output.
type straceCall struct {
	tid  int
	name string
	args string  // as printed, strings as \xHH (-xx)
	ret  string  // "3", "-1 ENOENT (No such file or directory)", "?"
	secs float64 // time in the call (-T), -1 if not printed
}

// retInt is the call's return value, or -1 for an error or none.
func (c straceCall) retInt() int {
	n, err := strconv.Atoi(c.ret)
	if err != nil {
		return -1
	}
	return n
}

var (
	straceLine = regexp.MustCompile(`^(\d+) +(.*)$`)
	callLine   = regexp.MustCompile(`^(\w+)\((.*)\) += (.*?)(?: <(\d+\.\d+)>)?$`)
	resumed    = regexp.MustCompile(`^<\.\.\. (\w+) resumed>(.*)$`)
	quotedStr  = regexp.MustCompile(`"((?:\\x[0-9a-f]{2})*)"`)
)

// parseStraceCalls reads strace -f output: the calls, a call split by
// another thread's ("<unfinished ...>", "<... read resumed>") joined again,
// and how each process ended ("exited with 7", "killed by SIGUSR1") by pid.
func parseStraceCalls(t *testing.T, out string) ([]straceCall, map[int]string) {
	t.Helper()
	var calls []straceCall
	ends := map[int]string{}
	pending := map[int]string{}
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\n")
		m := straceLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		tid, _ := strconv.Atoi(m[1])
		text := m[2]
		switch {
		case strings.HasPrefix(text, "+++ "):
			ends[tid] = strings.TrimSuffix(strings.TrimPrefix(text, "+++ "), " +++")
			continue
		case strings.HasPrefix(text, "--- "):
			continue // a signal
		}
		if r := resumed.FindStringSubmatch(text); r != nil {
			text = pending[tid] + r[2]
			delete(pending, tid)
		}
		if strings.HasSuffix(text, " <unfinished ...>") { // split again
			pending[tid] = strings.TrimSuffix(text, " <unfinished ...>")
			continue
		}
		c := callLine.FindStringSubmatch(text)
		if c == nil && strings.HasSuffix(text, "<detached ...>") {
			continue // a thread strace lost sight of as it ended
		}
		if c == nil {
			t.Fatalf("strace line %q: not a call", line)
		}
		secs := -1.0
		if c[4] != "" {
			secs, _ = strconv.ParseFloat(c[4], 64)
		}
		calls = append(calls, straceCall{tid: tid, name: c[1], args: c[2], ret: c[3], secs: secs})
	}
	return calls, ends
}

// quoted returns the strings in strace -xx arguments, decoded.
func quoted(args string) []string {
	var ss []string
	for _, m := range quotedStr.FindAllStringSubmatch(args, -1) {
		b, _ := hex.DecodeString(strings.ReplaceAll(m[1], `\x`, ""))
		ss = append(ss, string(b))
	}
	return ss
}

// selectCalls returns the calls named name, made by thread tid (any thread if 0).
func selectCalls(calls []straceCall, name string, tid int) []straceCall {
	var out []straceCall
	for _, c := range calls {
		if c.name == name && (tid == 0 || c.tid == tid) {
			out = append(out, c)
		}
	}
	return out
}

// wantTraced checks that strace saw, in the whole process tree, exactly as
// many calls of each name as the report counts.
func wantTraced(t *testing.T, calls []straceCall, r report, names ...string) {
	t.Helper()
	for _, name := range names {
		if got := len(selectCalls(calls, name, 0)); uint64(got) != r.Calls[name] {
			t.Errorf("strace saw %d %s calls, the report says %d", got, name, r.Calls[name])
		}
	}
}

func tracedOpenUnique(t *testing.T, r report, n int, out string) {
	calls, _ := parseStraceCalls(t, out)
	wantTraced(t, calls, r, "openat", "close", "unlinkat")
	tid := r.Threads[0]
	opened, failed, closed, unexpected := 0, 0, 0, 0
	fd := -1
	for _, c := range calls {
		s := quoted(c.args)
		switch {
		case c.tid != tid:
			unexpected++
			t.Errorf("%s(%q) by thread %d, not the measured thread %d", c.name, s, c.tid, tid)
		case c.name == "openat" && slices.Equal(s, []string{r.Path}) && strings.HasSuffix(c.args, ", O_RDONLY|O_CLOEXEC") && c.retInt() >= 0:
			opened++
			fd = c.retInt()
		case c.name == "openat" && slices.Equal(s, []string{r.MissingPath}) && strings.HasSuffix(c.args, ", O_RDONLY|O_CLOEXEC") && strings.HasPrefix(c.ret, "-1 ENOENT "):
			failed++
		case c.name == "close" && c.args == strconv.Itoa(fd) && c.ret == "0":
			closed++
			fd = -1
		case c.name == "unlinkat" && slices.Equal(s, []string{r.Path}) && c.ret == "0":
		default:
			if unexpected++; unexpected <= 5 {
				t.Errorf("unexpected call %s(%s) = %s (strings %q)", c.name, c.args, c.ret, s)
			}
		}
	}
	if unexpected > 5 {
		t.Errorf("%d unexpected calls in all", unexpected)
	}
	if opened != n || failed != n || closed != n {
		t.Errorf("strace saw %d opens of the file, %d closes, %d failed opens of the missing path; want %d of each", opened, closed, failed, n)
	}
}

func tracedHostileOpen(t *testing.T, r report, n int, out string) {
	calls, _ := parseStraceCalls(t, out)
	wantTraced(t, calls, r, "openat")
	path, err := model.Unescape(r.Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		if s := quoted(c.args); c.tid != r.Threads[0] || !slices.Equal(s, []string{path}) || !strings.HasPrefix(c.ret, "-1 ENOENT ") {
			t.Errorf("thread %d: openat of %q = %s; want %q failing with ENOENT", c.tid, s, c.ret, path)
		}
	}
}

// inetArg is how strace -xx prints a sockaddr_in on 127.0.0.1.
func inetArg(port uint16) string {
	return fmt.Sprintf(`{sa_family=AF_INET, sin_port=htons(%d), sin_addr=inet_addr("\x31\x32\x37\x2e\x30\x2e\x30\x2e\x31")}`, port)
}

func tracedTCPPair(t *testing.T, r report, n int, out string) {
	calls, ends := parseStraceCalls(t, out)
	server, client := r.Threads[0], r.ClientPID
	port := uint16(r.Port)

	// The server: one fork, N accepts (the peer's address asked for), the
	// names and close of each, and the wait for the client.
	if cl := selectCalls(calls, "clone", server); len(cl) != 1 || cl[0].args != "child_stack=NULL, flags=SIGCHLD" || cl[0].retInt() != client {
		t.Errorf("server's clones %+v, want one fork returning %d", cl, client)
	}
	accepts := selectCalls(calls, "accept4", server)
	names := selectCalls(calls, "getsockname", server)
	peers := selectCalls(calls, "getpeername", server)
	if len(accepts) != n || len(names) != n || len(peers) != n || len(selectCalls(calls, "close", server)) != n {
		t.Fatalf("server: %d accept4, %d getsockname, %d getpeername, want %d of each and as many close", len(accepts), len(names), len(peers), n)
	}
	for i, c := range r.Conns {
		cl, sl := netip.MustParseAddrPort(c.ClientLocal), netip.MustParseAddrPort(c.ServerLocal)
		want := fmt.Sprintf("%d, %s, [16], SOCK_CLOEXEC", r.ListenFD, inetArg(cl.Port()))
		if accepts[i].args != want || accepts[i].retInt() < 0 {
			t.Errorf("accept %d: accept4(%s) = %s, want accept4(%s)", i, accepts[i].args, accepts[i].ret, want)
		}
		fd := strconv.Itoa(accepts[i].retInt())
		if names[i].args != fd+", "+inetArg(sl.Port())+", [16]" || peers[i].args != fd+", "+inetArg(cl.Port())+", [16]" {
			t.Errorf("accept %d: getsockname(%s), getpeername(%s); want %s and %s", i, names[i].args, peers[i].args, sl, cl)
		}
	}
	if w := selectCalls(calls, "wait4", server); len(w) != 1 || w[0].retInt() != client || !strings.Contains(w[0].args, "WEXITSTATUS(s) == 0") {
		t.Errorf("server's wait4 %+v, want the client's exit 0", w)
	}

	// The client, in its main thread: exec'd with its port, then N
	// socket, connect, getsockname, getpeername (and close, also made by the
	// runtime at start-up).
	ex := selectCalls(calls, "execve", client)
	if len(ex) != 1 || ex[0].ret != "0" || !slices.Equal(quoted(ex[0].args)[1:], []string{quoted(ex[0].args)[0], tcpClientArg, strconv.Itoa(r.Port), strconv.Itoa(n)}) {
		t.Errorf("client's execve %+v, want this binary with %s %d %d", ex, tcpClientArg, r.Port, n)
	}
	connects := selectCalls(calls, "connect", client)
	names = selectCalls(calls, "getsockname", client)
	peers = selectCalls(calls, "getpeername", client)
	if len(selectCalls(calls, "socket", client)) != n || len(connects) != n || len(names) != n || len(peers) != n {
		t.Fatalf("client: %d connect, %d getsockname, %d getpeername; want %d of each and as many socket", len(connects), len(names), len(peers), n)
	}
	for i, c := range r.Conns {
		cl := netip.MustParseAddrPort(c.ClientLocal)
		if want := ", " + inetArg(port) + ", 16"; !strings.HasSuffix(connects[i].args, want) || connects[i].ret != "0" {
			t.Errorf("connect %d: connect(%s) = %s, want (FD%s) = 0", i, connects[i].args, connects[i].ret, want)
		}
		if !strings.Contains(names[i].args, inetArg(cl.Port())) || !strings.Contains(peers[i].args, inetArg(port)) {
			t.Errorf("connect %d: getsockname(%s), getpeername(%s); want %s and port %d", i, names[i].args, peers[i].args, cl, port)
		}
	}
	if ends[client] != "exited with 0" {
		t.Errorf("client %d ended %q", client, ends[client])
	}
	if got := len(selectCalls(calls, "connect", 0)); got != n {
		t.Errorf("%d connect calls in all, want the client's %d", got, n)
	}
}

func tracedExecExit7(t *testing.T, r report, n int, out string) {
	calls, ends := parseStraceCalls(t, out)
	tid := r.Threads[0]
	clones, waits := selectCalls(calls, "clone", tid), selectCalls(calls, "wait4", tid)
	if len(clones) != n || len(waits) != n {
		t.Fatalf("%d clone and %d wait4 calls, want %d of each", len(clones), len(waits), n)
	}
	for i, ch := range r.Children {
		if clones[i].args != "child_stack=NULL, flags=SIGCHLD" || clones[i].retInt() != ch.PID {
			t.Errorf("child %d: clone(%s) = %s, want a fork returning %d", i, clones[i].args, clones[i].ret, ch.PID)
		}
		want := fmt.Sprintf("%d, [{WIFEXITED(s) && WEXITSTATUS(s) == 7}], 0, NULL", ch.PID)
		if waits[i].args != want || waits[i].retInt() != ch.PID {
			t.Errorf("child %d: wait4(%s) = %s, want wait4(%s) = %d", i, waits[i].args, waits[i].ret, want, ch.PID)
		}
		ex := selectCalls(calls, "execve", ch.PID)
		if len(ex) != 1 || !slices.Equal(quoted(ex[0].args), append([]string{r.Filename}, r.Argv...)) || ex[0].ret != "0" {
			t.Errorf("child %d: execve %+v, want one of %q %q", i, ex, r.Filename, r.Argv)
		}
		if eg := selectCalls(calls, "exit_group", ch.PID); len(eg) != 1 || eg[0].args != "7" || ends[ch.PID] != "exited with 7" {
			t.Errorf("child %d: exit_group %+v, ended %q; want exit_group(7)", i, eg, ends[ch.PID])
		}
	}
}

func tracedKillUsr1(t *testing.T, r report, n int, out string) {
	calls, _ := parseStraceCalls(t, out)
	wantTraced(t, calls, r, "kill", "wait4")
	tid := r.Threads[0]
	kills, waits := selectCalls(calls, "kill", tid), selectCalls(calls, "wait4", tid)
	if len(kills) != n || len(waits) != n {
		t.Fatalf("%d kill and %d wait4 calls by the measured thread, want %d of each", len(kills), len(waits), n)
	}
	for i, ch := range r.Children {
		if want := fmt.Sprintf("%d, SIGUSR1", ch.PID); kills[i].args != want || kills[i].ret != "0" {
			t.Errorf("child %d: kill(%s) = %s, want kill(%s) = 0", i, kills[i].args, kills[i].ret, want)
		}
		want := fmt.Sprintf("%d, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGUSR1}], 0, NULL", ch.PID)
		if waits[i].args != want || waits[i].retInt() != ch.PID {
			t.Errorf("child %d: wait4(%s) = %s, want wait4(%s) = %d", i, waits[i].args, waits[i].ret, want, ch.PID)
		}
	}
}

func tracedSlowRead(t *testing.T, r report, n int, out string) {
	calls, _ := parseStraceCalls(t, out)
	reader, helper := r.Threads[0], r.Threads[1]
	// The reader also reads stdin for the go-ahead; only the pipe counts.
	var reads []straceCall
	for _, c := range selectCalls(calls, "read", 0) {
		if strings.HasPrefix(c.args, strconv.Itoa(r.FD)+", ") {
			reads = append(reads, c)
		}
	}
	if len(reads) != 2*n {
		t.Fatalf("%d reads of fd %d, want %d", len(reads), r.FD, 2*n)
	}
	for i, c := range reads {
		slow := i%2 == 0
		if c.tid != reader || !strings.HasSuffix(c.args, ", 4096") || c.ret != "16" {
			t.Errorf("read %d by thread %d: read(%s) = %s, want thread %d's read(%d, BUF, 4096) = 16", i, c.tid, c.args, c.ret, reader, r.FD)
		}
		if slow && c.secs < 0.25 || !slow && (c.secs < 0 || c.secs > 0.1) {
			t.Errorf("read %d (slow: %v) took %vs", i, slow, c.secs)
		}
	}
	for _, tid := range []int{reader, helper} {
		var writes int
		for _, c := range selectCalls(calls, "write", tid) {
			if strings.HasPrefix(c.args, strconv.Itoa(r.WriteFD)+", ") && strings.HasSuffix(c.args, ", 16") && c.ret == "16" {
				writes++
			}
		}
		if writes != n {
			t.Errorf("thread %d wrote 16 bytes to fd %d %d times, want %d", tid, r.WriteFD, writes, n)
		}
	}
	if sleeps := selectCalls(calls, "clock_nanosleep", helper); len(sleeps) != n {
		t.Errorf("helper slept %d times, want %d", len(sleeps), n)
	}
}

func tracedCompatGetpid(t *testing.T, r report, n int, out string) {
	const header = "System call usage summary for 32 bit mode:"
	_, compat, ok := strings.Cut(out, header)
	if !ok {
		t.Fatalf("strace summary has no %q", header)
	}
	counts, failures := parseStraceSummary(t, compat)
	if want := (calls{"getpid": uint64(n)}); !maps.Equal(counts, want) || failures["getpid"] != 0 {
		t.Errorf("strace counted 32-bit calls %v (errors %v), want %v", counts, failures, want)
	}
}
