//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// tcpClientArg, as the first argument, makes the binary tcp-pair's client
// rather than a workload: "workload _tcp-pair-client PORT N". It is no mode,
// so usage does not list it.
const tcpClientArg = "_tcp-pair-client"

// maxTCPPairConns bounds N in tcp-pair: the client's report, some 70 bytes a
// connection, waits in a pipe of 1 MiB until the client has exited.
const maxTCPPairConns = 10000

// connAddrs are the addresses of one tcp-pair connection as each process saw
// them: getsockname (local) and getpeername (peer) of the client's socket
// after connect, and of the server's socket from accept4. So client_local is
// server_peer and client_peer server_local.
type connAddrs struct {
	ClientLocal string `json:"client_local,omitempty"`
	ClientPeer  string `json:"client_peer,omitempty"`
	ServerLocal string `json:"server_local,omitempty"`
	ServerPeer  string `json:"server_peer,omitempty"`
}

// sockNames are the raw getsockname and getpeername results of one socket,
// formatted only after the measured phase.
type sockNames struct{ local, peer unix.RawSockaddrInet4 }

// inet4 formats a sockaddr_in as "127.0.0.1:41234", or "" if the kernel did
// not fill it in.
func inet4(sa *unix.RawSockaddrInet4) string {
	if sa.Family != unix.AF_INET {
		return ""
	}
	return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), inet4Port(sa)).String()
}

// inet4Port is the port of a sockaddr_in, which holds it in network order.
func inet4Port(sa *unix.RawSockaddrInet4) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&sa.Port))
	return uint16(b[0])<<8 | uint16(b[1])
}

// get makes getsockname and getpeername of fd, counted in local and peer.
func (s *sockNames) get(local, peer *counter, fd uintptr) {
	size := uint32(unix.SizeofSockaddrInet4)
	_, _, errno := unix.RawSyscall(unix.SYS_GETSOCKNAME, fd, uintptr(unsafe.Pointer(&s.local)), uintptr(unsafe.Pointer(&size)))
	local.add(errno)
	size = unix.SizeofSockaddrInet4
	_, _, errno = unix.RawSyscall(unix.SYS_GETPEERNAME, fd, uintptr(unsafe.Pointer(&s.peer)), uintptr(unsafe.Pointer(&size)))
	peer.add(errno)
}

// tcpPairMode is a TCP server and client in two processes. Setup makes a
// listener on 127.0.0.1; the measured phase forks and execs this binary as the
// client (tcpClient), accepts its N connections one by one with accept4 (the
// peer's address asked for), makes getsockname and getpeername of each and
// closes it, then reaps the client with wait4 and reads the report it wrote
// to a pipe, with one read. The listener and pipe are left for the exit to
// close, so the closes counted are exactly the accepted sockets'.
func tcpPairMode(e *env) (result, error) {
	defer measuredThread()()
	n := e.n
	if n > maxTCPPairConns {
		return result{}, fmt.Errorf("at most %d connections", maxTCPPairConns)
	}
	exe, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	lfd, addr, err := listenLoopback(max(n, 128))
	if err != nil {
		return result{}, err
	}
	// accept4 gives up after this long without a connection, so a client that
	// died cannot leave the server waiting forever.
	if err := unix.SetsockoptTimeval(lfd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 10}); err != nil {
		return result{}, fmt.Errorf("setsockopt(SO_RCVTIMEO): %w", err)
	}
	// The client's stdout is this pipe. Its report waits there until the
	// client is reaped, and is then read without blocking, however the client
	// ended; so the pipe must hold it all.
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return result{}, fmt.Errorf("pipe2: %w", err)
	}
	size, err := unix.FcntlInt(uintptr(p[0]), unix.F_SETPIPE_SZ, 1<<20)
	if err != nil {
		return result{}, fmt.Errorf("fcntl(F_SETPIPE_SZ): %w", err)
	}
	if err := unix.SetNonblock(p[0], true); err != nil {
		return result{}, err
	}
	port := int(inet4Port(&addr))
	client, err := newProgram([]string{exe, tcpClientArg, strconv.Itoa(port), strconv.Itoa(n)}, p[1], 0)
	if err != nil {
		return result{}, err
	}
	out := make([]byte, size)
	server := make([]sockNames, n)
	peers := make([]unix.RawSockaddrInet4, n) // accept4's, not reported: getpeername's are

	t := &tally{}
	clone, accept, sockname, peername := t.counter("clone"), t.counter("accept4"), t.counter("getsockname"), t.counter("getpeername")
	cls, wait, read := t.counter("close"), t.counter("wait4"), t.counter("read")
	tid := unix.Gettid()
	e.ready()
	pid := client.start(clone)
	accepted := 0
	for pid > 0 && accepted < n {
		addrlen := uint32(unix.SizeofSockaddrInet4)
		fd, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&peers[accepted])), uintptr(unsafe.Pointer(&addrlen)), unix.SOCK_CLOEXEC, 0, 0)
		accept.add(errno)
		if errno == unix.ECONNABORTED {
			continue
		}
		if errno != 0 {
			break // EAGAIN: no connection for SO_RCVTIMEO
		}
		server[accepted].get(sockname, peername, fd)
		_, _, errno = unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
		cls.add(errno)
		accepted++
	}
	var reaped child
	var got uintptr
	if pid > 0 {
		reaped = reap(wait, pid)
		var errno unix.Errno
		got, _, errno = unix.RawSyscall(unix.SYS_READ, uintptr(p[0]), uintptr(unsafe.Pointer(&out[0])), uintptr(len(out)))
		read.add(errno)
		if errno != 0 {
			got = 0
		}
	}
	e.done()

	if pid == 0 {
		return result{}, errors.New("clone of the client failed")
	}
	if reaped.ExitCode != 0 {
		return result{}, fmt.Errorf("client %d: exit code %d, signal %d", pid, reaped.ExitCode, reaped.Signal)
	}
	var cr report
	if err := json.Unmarshal(out[:got], &cr); err != nil {
		return result{}, fmt.Errorf("client's report %q: %w", out[:got], err)
	}
	if cr.PID != pid {
		return result{}, fmt.Errorf("client's report has pid %d, the fork gave %d", cr.PID, pid)
	}
	conns := make([]connAddrs, max(accepted, len(cr.Conns)))
	for i := range conns {
		if i < len(cr.Conns) {
			conns[i] = cr.Conns[i]
		}
		if i < accepted {
			conns[i].ServerLocal, conns[i].ServerPeer = inet4(&server[i].local), inet4(&server[i].peer)
		}
	}
	return result{
		tallies: []*tally{t}, children: []child{reaped}, tids: []int{tid},
		detail: detail{
			Port: port, ListenFD: lfd, ServerPID: os.Getpid(), ClientPID: pid,
			ClientCalls: cr.Calls, ClientErrors: cr.Errors, Conns: conns,
		},
	}, nil
}

func init() {
	// tcp-pair's client makes its calls in its main thread, whose thread id
	// is the pid: a tracer's per-thread view of the client is then one thread
	// with the client's pid. Locking in init runs main in the main thread.
	if len(os.Args) > 1 && os.Args[1] == tcpClientArg {
		runtime.LockOSThread()
	}
}

// tcpClient is tcp-pair's client: N times, one after another, socket, a
// blocking connect to 127.0.0.1:PORT (not Go's non-blocking connect, which
// returns EINPROGRESS and polls), getsockname, getpeername and close. It prints
// a report like a mode's, with client_local and client_peer in conns, which
// tcpPairMode reads.
func tcpClient(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: workload " + tcpClientArg + " PORT N")
	}
	port, err := strconv.ParseUint(args[0], 10, 16)
	if err != nil {
		return fmt.Errorf("port: %w", err)
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 0 || n > maxTCPPairConns {
		return fmt.Errorf("N must be 0..%d, got %q", maxTCPPairConns, args[1])
	}
	defer measuredThread()() // no signal interrupts, and so restarts, connect
	addr := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: [4]byte{127, 0, 0, 1}}
	*(*[2]byte)(unsafe.Pointer(&addr.Port)) = [2]byte{byte(port >> 8), byte(port)}
	names := make([]sockNames, n)

	t := &tally{}
	sock, conn, sockname, peername, cls := t.counter("socket"), t.counter("connect"), t.counter("getsockname"), t.counter("getpeername"), t.counter("close")
	began := time.Now()
	for i := 0; i < n; i++ {
		fd, _, errno := unix.RawSyscall(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		sock.add(errno)
		if errno != 0 {
			continue
		}
		_, _, errno = unix.Syscall(unix.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&addr)), unix.SizeofSockaddrInet4)
		conn.add(errno)
		if errno == 0 {
			names[i].get(sockname, peername, fd)
		}
		_, _, errno = unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
		cls.add(errno)
	}
	elapsed := time.Since(began)

	conns := make([]connAddrs, n)
	for i := range names {
		conns[i] = connAddrs{ClientLocal: inet4(&names[i].local), ClientPeer: inet4(&names[i].peer)}
	}
	res := result{tallies: []*tally{t}, tids: []int{unix.Gettid()}, detail: detail{Conns: conns}}
	out, err := json.Marshal(buildReport(tcpClientArg, res, elapsed))
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(out, '\n'))
	return err
}
