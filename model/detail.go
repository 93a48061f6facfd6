package model

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strconv"
	"time"
)

// Detail events: for the classes whose detail is switched on, the kernel sends
// one event per syscall of a watched process with its arguments (strings and
// structs copied from user memory at entry), result and duration; and one per
// TCP connection that is established or closed. This file is the vocabulary
// shared by bpf (which fills Event.Call and Event.TCP), the aggregator (which
// keeps CallRecords) and the ui (which prints them in strace notation).

const (
	// EventSyscall is a syscall seen in detail (Event.Call).
	EventSyscall EventKind = 4
	// EventTCP is a TCP connection that changed state (Event.TCP); Proc is the
	// process that owns the socket.
	EventTCP EventKind = 5
)

// Sizes of what a call event carries. The kernel truncates longer data and
// marks it (CallFlags).
const (
	CallDataLen = 1024 // bytes of user memory one call event carries in all
	CallStrLen  = 256  // at most per string argument, NUL included
	CallBlobLen = 128  // at most per struct argument (sockaddr_un is 110)
	CallArgvMax = 16   // argv entries captured at most
	CallArgLen  = 128  // at most per argv entry, NUL included
)

// CompatNr is the syscall slot under which the calls of 32-bit (compat) tasks
// are counted: their numbers belong to another table, so they are counted
// together under a visible label rather than named wrongly. No native table
// reaches this number.
const CompatNr = MaxSyscallNr - 1

// CompatName is the name CompatNr is shown under.
const CompatName = "compat_32bit"

// CallFlags say how a call event was captured.
type CallFlags uint16

const (
	// CallSlow: sent because the call was slower than the --slow threshold.
	CallSlow CallFlags = 1 << iota
	// CallAtExit: the strings were read from user memory at exit, not entry (a
	// slow call of a class without detail).
	CallAtExit
	CallStr0Truncated
	CallStr1Truncated
	CallBlobTruncated
	// CallArgvTruncated: more argv entries than CallArgvMax, or one was cut.
	CallArgvTruncated
	// CallNoDuration: the entry time was unknown (Duration is 0).
	CallNoDuration
	// CallStr0Unread, CallStr1Unread: the string could not be read (a NULL or
	// unmapped pointer), as opposed to an empty string.
	CallStr0Unread
	CallStr1Unread
)

// Span locates one piece of CallData.Data.
type Span struct{ Off, Len uint16 }

// CallData is the detail of an EventSyscall. Fixed-size, so the collector decodes
// into one reused Event without allocating.
type CallData struct {
	Nr       uint16
	Flags    CallFlags
	Ret      int64
	Duration uint64 // ns from entry to exit
	Args     [6]uint64
	// Str holds the string arguments (paths) in capture order (see Capture.Str),
	// without their NUL; Blob a struct argument (sockaddr, open_how); Argv the
	// argv entries, each followed by a NUL, Argc of them.
	Str  [2]Span
	Blob Span
	Argv Span
	Argc uint16
	Data [CallDataLen]byte
}

// Bytes returns the part of Data s spans (a view, not a copy).
func (c *CallData) Bytes(s Span) []byte {
	end := min(int(s.Off)+int(s.Len), len(c.Data))
	return c.Data[min(int(s.Off), end):end]
}

// TCPData is the detail of an EventTCP.
type TCPData struct {
	Family             uint16 // AF_INET (2) or AF_INET6 (10)
	OldState, NewState uint8  // TCP_* states (1 established ... 7 close)
	SPort, DPort       uint16 // host order
	SAddr, DAddr       [16]byte
}

// TCP states the kernel reports (include/net/tcp_states.h).
const (
	TCPEstablished = 1
	TCPSynSent     = 2
	TCPSynRecv     = 3
	TCPClose       = 7
	TCPListen      = 10
)

// State names the state the connection reached: "established" or "closed"
// (the two the kernel side reports), else "".
func (t *TCPData) State() string {
	switch t.NewState {
	case TCPEstablished:
		return "established"
	case TCPClose:
		return "closed"
	}
	return ""
}

// Local and Remote are the connection's endpoints.
func (t *TCPData) Local() netip.AddrPort  { return tcpAddr(t.Family, t.SAddr, t.SPort) }
func (t *TCPData) Remote() netip.AddrPort { return tcpAddr(t.Family, t.DAddr, t.DPort) }

func tcpAddr(family uint16, a [16]byte, port uint16) netip.AddrPort {
	if family == 2 {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[:4])), port)
	}
	return netip.AddrPortFrom(netip.AddrFrom16(a).Unmap(), port)
}

// Capture says what the kernel copies from user memory for one syscall, derived
// from its argument types (Table.Capture). Argument indexes are 0-5; -1 is none.
type Capture struct {
	// Str are the arguments that point to NUL-terminated strings (paths), read
	// at entry into CallData.Str in this order.
	Str [2]int8
	// Blob points to a struct: a sockaddr or an open_how. At most BlobSize
	// bytes are read, or the length in argument BlobLenArg when that is set
	// (through a pointer to a u32 when BlobLenPtr, as accept's addrlen).
	Blob       int8
	BlobSize   uint16
	BlobLenArg int8
	BlobLenPtr bool
	// BlobAtExit: the struct is an output (accept's peer address): read at exit
	// when the call succeeded.
	BlobAtExit bool
	// Argv points to a NULL-terminated array of strings (execve's argv).
	Argv int8
}

// NoCapture copies nothing but the six argument registers.
var NoCapture = Capture{Str: [2]int8{-1, -1}, Blob: -1, BlobLenArg: -1, Argv: -1}

// IOKind says which byte counter a successful call's return value adds to.
type IOKind uint8

const (
	IONone  IOKind = iota
	IORead         // read, pread64, readv, preadv, preadv2
	IOWrite        // write, pwrite64, writev, pwritev, pwritev2, sendfile
	IORecv         // recvfrom, recvmsg, recvmmsg (its count is messages: not counted)
	IOSend         // sendto, sendmsg
)

// IOCounts are the bytes a process moved with successful calls, summed in the
// kernel from their return values.
type IOCounts struct {
	Read, Written, Received, Sent uint64
}

// Add adds o to c.
func (c *IOCounts) Add(o IOCounts) {
	c.Read += o.Read
	c.Written += o.Written
	c.Received += o.Received
	c.Sent += o.Sent
}

// CallRecord is a detail event as kept: strings instead of fixed arrays.
type CallRecord struct {
	Proc ProcID
	TID  uint32
	// Time is the wall-clock time of the call's exit (when the event was made).
	Time     time.Time
	Nr       int
	Name     string // the syscall's name in its table
	Flags    CallFlags
	Ret      int64
	Duration time.Duration
	Args     [6]uint64
	Strs     [2]string // as captured; see Flags for truncation
	Blob     []byte
	Argv     []string
}

// Errno returns the errno of a failed call (0 if it succeeded).
func (c *CallRecord) Errno() int {
	if c.Ret < 0 && c.Ret >= -4095 {
		return int(-c.Ret)
	}
	return 0
}

// FileStat counts the opens of one path (open, openat, openat2, creat).
type FileStat struct {
	Path   string
	Opens  uint64 // calls, failed ones included
	Errors uint64
	// Errnos are the errors by errno, most frequent first.
	Errnos []ErrnoCount
	// LastProc is the process that opened it last.
	LastProc ProcID
	LastComm string
}

// EndpointStat counts the calls naming one socket address: connect, bind, and
// accept (by the peer's address).
type EndpointStat struct {
	Endpoint string // "127.0.0.1:8080", "[::1]:443", "unix:/run/x.sock"
	Connects uint64
	Accepts  uint64
	Binds    uint64
	Errors   uint64
	Errnos   []ErrnoCount
	LastProc ProcID
	LastComm string
}

// TCPConn is one TCP connection seen established or closed.
type TCPConn struct {
	Proc          ProcID
	Comm          string
	Local, Remote netip.AddrPort
	// State is "established" or "closed".
	State string
	Time  time.Time
}

// ProcDetail is what the detail events say about one process: its recent calls,
// most recent first, and its top files and endpoints.
type ProcDetail struct {
	Calls     []CallRecord
	Files     []FileStat
	Endpoints []EndpointStat
}

// Sockaddr is a decoded socket address.
type Sockaddr struct {
	Family uint16
	Addr   netip.AddrPort // AF_INET, AF_INET6
	Path   string         // AF_UNIX; an abstract name starts with "@"
}

// Address families tlmon decodes.
const (
	AFUnix  = 1
	AFInet  = 2
	AFInet6 = 10
)

// String is "127.0.0.1:8080", "[::1]:443", "unix:/run/x.sock", "unix:@name"
// ("unix:" for an unnamed socket), or "family N".
func (s Sockaddr) String() string {
	switch s.Family {
	case AFInet, AFInet6:
		return s.Addr.String()
	case AFUnix:
		return "unix:" + s.Path
	}
	return "family " + strconv.Itoa(int(s.Family))
}

// DecodeSockaddr decodes a struct sockaddr as copied from user memory (native
// byte order for the family, network order for ports and addresses). ok is
// false when b is too short for its family.
func DecodeSockaddr(b []byte) (s Sockaddr, ok bool) {
	if len(b) < 2 {
		return Sockaddr{}, false
	}
	s.Family = binary.NativeEndian.Uint16(b)
	switch s.Family {
	case AFInet: // family, port, addr[4]
		if len(b) < 8 {
			return s, false
		}
		s.Addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), binary.BigEndian.Uint16(b[2:4]))
	case AFInet6: // family, port, flowinfo[4], addr[16], scope id
		if len(b) < 24 {
			return s, false
		}
		s.Addr = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])), binary.BigEndian.Uint16(b[2:4]))
	case AFUnix: // family, path[108]: NUL-terminated, or abstract (leading NUL)
		path := b[2:]
		if len(path) > 0 && path[0] == 0 {
			s.Path = "@" + string(bytes.TrimRight(path[1:], "\x00"))
		} else if end := bytes.IndexByte(path, 0); end >= 0 {
			s.Path = string(path[:end])
		} else {
			s.Path = string(path)
		}
	}
	return s, true
}
