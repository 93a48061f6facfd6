package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/ringbuf"

	"tlmon/model"
)

// EventReader reads one of the probe's buffers, the ring buffer or the perf
// buffer, whichever the probe loaded, into a record it reuses: no allocation
// per event.
type EventReader struct {
	ring  *ringbuf.Reader
	perf  *perf.Reader
	rrec  ringbuf.Record
	prec  perf.Record
	close func() error
	// waited is true once a read found nothing before its deadline: the next
	// one sets a new deadline. While records come, the deadline is left alone
	// (setting it costs a clock read and a lock, per record).
	waited bool
}

// ErrClosed is returned by Read once Close was called.
var ErrClosed = os.ErrClosed

// NewLifecycleReader opens a reader on the buffer of process events (exec,
// fork, exit) and young threads' counts.
func (p *Probe) NewLifecycleReader() (*EventReader, error) {
	return p.newEventReader(p.maps.Lifecycle)
}

// NewDetailReader opens a reader on the buffer of detail events (calls, TCP
// connections): nil on rungs that send none.
func (p *Probe) NewDetailReader() (*EventReader, error) {
	if p.maps.Detail == nil {
		return nil, nil
	}
	return p.newEventReader(p.maps.Detail)
}

func (p *Probe) newEventReader(m *ebpf.Map) (*EventReader, error) {
	r := &EventReader{waited: true}
	switch p.rung.Buffer {
	case BufferRingbuf:
		rd, err := ringbuf.NewReader(m)
		if err != nil {
			return nil, fmt.Errorf("open ring buffer: %w", err)
		}
		r.ring, r.close = rd, rd.Close
	default:
		size := p.opts.PerfBytes
		if size <= 0 {
			size = 256 << 10 // per CPU; detail events come in bursts
		}
		rd, err := perf.NewReaderWithOptions(m, size, perf.ReaderOptions{Watermark: size / 8})
		if err != nil {
			return nil, fmt.Errorf("open perf buffer: %w", err)
		}
		r.perf, r.close = rd, rd.Close
	}
	return r, nil
}

// Read blocks until the next event and decodes it into e. A perf buffer may
// instead report samples the kernel dropped: then ok is false and lost > 0 (tlmon
// counts its losses in the kernel; this number arrives late and is for checks).
func (r *EventReader) Read(e *model.Event) (ok bool, lost uint64, err error) {
	var raw []byte
	if r.waited {
		r.setDeadline(time.Now().Add(pollEvery))
		r.waited = false
	}
	if r.ring != nil {
		if err := r.ring.ReadInto(&r.rrec); err != nil {
			return false, 0, r.wrap(err)
		}
		raw = r.rrec.RawSample
	} else {
		if err := r.perf.ReadInto(&r.prec); err != nil {
			return false, 0, r.wrap(err)
		}
		if r.prec.LostSamples > 0 {
			return false, r.prec.LostSamples, nil
		}
		raw = r.prec.RawSample
	}
	if err := DecodeEvent(raw, e); err != nil {
		return false, 0, err
	}
	return true, 0, nil
}

// pollEvery is how long a record may wait in the buffer: the kernel wakes the
// reader only once the buffer is an eighth full (ringbuf_wakeup in
// tlmon.bpf.c, the perf buffer's watermark), since a wakeup per record cost more
// than the record, so the reader also looks this often. Read then returns
// neither a record nor an error when there was none. Each look is a wakeup of
// tlmon: at 20 ms the two buffers' looks took about a third of an idle
// monitor's CPU; names and events arriving within 100 ms are soon enough for
// a screen refreshed once a second, and a burst still wakes the reader at once.
const pollEvery = 100 * time.Millisecond

// ErrFlushed is returned by Read after Flush, once the records that were
// buffered at the call have been read.
var ErrFlushed = ringbuf.ErrFlushed

// Flush makes Read return every record buffered now, then ErrFlushed, even
// from another goroutine while Read blocks.
func (r *EventReader) Flush() error {
	if r.ring != nil {
		return r.ring.Flush()
	}
	return r.perf.Flush()
}

// Close unblocks a Read in another goroutine; Read then returns ErrClosed.
// A nil reader (NewDetailReader's, on rungs without detail) has nothing to close.
func (r *EventReader) Close() error {
	if r == nil {
		return nil
	}
	return r.close()
}

func (r *EventReader) setDeadline(t time.Time) {
	if r.ring != nil {
		r.ring.SetDeadline(t)
	} else {
		r.perf.SetDeadline(t)
	}
}

// wrap turns a reader's error into Read's: none when the deadline passed
// (nothing came within pollEvery), ErrClosed, ErrFlushed or the error itself.
func (r *EventReader) wrap(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		r.waited = true
		return nil
	}
	if errors.Is(err, ringbuf.ErrClosed) || errors.Is(err, perf.ErrClosed) {
		return ErrClosed
	}
	if errors.Is(err, perf.ErrFlushed) {
		return ErrFlushed
	}
	return err
}

// EventSize is the size of struct event; a perf sample may carry padding after it.
const EventSize = int(unsafe.Sizeof(tlmonEvent{}))

// Field offsets of struct event, checked against the generated type in tests.
const (
	offKind        = 0
	offExitCode    = 1
	offExitSignal  = 2
	offCoreDumped  = 3
	offTgid        = 4
	offTid         = 8
	offPpid        = 12
	offTime        = 16
	offStart       = 24
	offParentStart = 32
	offCgroupID    = 40
	offComm        = 48
	offFilename    = offComm + model.CommLen
)

// Layout of the detail records, from the generated types: a call event's
// header (its data follows; only the used part is sent) and a TCP event.
var (
	ce             tlmonCallEvent
	te             tlmonTcpEvent
	callHeaderSize = int(unsafe.Offsetof(ce.Data))
	tcpEventSize   = int(unsafe.Sizeof(te))
)

// DecodeEvent decodes a raw record at fixed offsets (binary.Read would reflect
// and allocate on every event): a lifecycle event, a call or a TCP connection,
// told apart by their first byte.
func DecodeEvent(raw []byte, e *model.Event) error {
	if len(raw) == 0 {
		return fmt.Errorf("empty event")
	}
	switch model.EventKind(raw[0]) {
	case model.EventSyscall:
		return decodeCall(raw, e)
	case model.EventTCP:
		return decodeTCP(raw, e)
	case model.EventCounts:
		return decodeCounts(raw, e)
	}
	if len(raw) < EventSize {
		return fmt.Errorf("short event: %d bytes, want %d", len(raw), EventSize)
	}
	le := binary.LittleEndian
	e.Kind = model.EventKind(raw[offKind])
	e.ExitCode = raw[offExitCode]
	e.ExitSignal = raw[offExitSignal]
	e.CoreDumped = raw[offCoreDumped] != 0
	e.Proc = model.ProcID{PID: le.Uint32(raw[offTgid:]), Start: model.NsToTicks(le.Uint64(raw[offStart:]))}
	e.TID = le.Uint32(raw[offTid:])
	e.Parent = model.ProcID{PID: le.Uint32(raw[offPpid:]), Start: model.NsToTicks(le.Uint64(raw[offParentStart:]))}
	e.Time = le.Uint64(raw[offTime:])
	e.CgroupID = le.Uint64(raw[offCgroupID:])
	copy(e.CommBytes[:], raw[offComm:offComm+model.CommLen])
	copy(e.FilenameBytes[:], raw[offFilename:offFilename+model.FilenameLen])
	return nil
}

// decodeCall decodes a struct call_event.
func decodeCall(raw []byte, e *model.Event) error {
	if len(raw) < callHeaderSize {
		return fmt.Errorf("short call event: %d bytes, want at least %d", len(raw), callHeaderSize)
	}
	le := binary.LittleEndian
	u16 := func(off uintptr) uint16 { return le.Uint16(raw[off:]) }
	u64 := func(off uintptr) uint64 { return le.Uint64(raw[off:]) }
	c := &e.Call
	e.Kind = model.EventSyscall
	c.Nr = u16(unsafe.Offsetof(ce.Nr))
	c.Flags = model.CallFlags(u16(unsafe.Offsetof(ce.Flags)))
	c.Argc = u16(unsafe.Offsetof(ce.Argc))
	e.Proc = procID(le.Uint32(raw[unsafe.Offsetof(ce.Tgid):]), u64(unsafe.Offsetof(ce.Start)))
	e.TID = le.Uint32(raw[unsafe.Offsetof(ce.Tid):])
	e.Time = u64(unsafe.Offsetof(ce.Time))
	c.Ret = int64(u64(unsafe.Offsetof(ce.Ret)))
	c.Duration = u64(unsafe.Offsetof(ce.Duration))
	for i := range c.Args {
		c.Args[i] = u64(unsafe.Offsetof(ce.Args) + uintptr(8*i))
	}
	span := func(off, len uintptr) model.Span { return model.Span{Off: u16(off), Len: u16(len)} }
	c.Str[0] = span(unsafe.Offsetof(ce.StrOff), unsafe.Offsetof(ce.StrLen))
	c.Str[1] = span(unsafe.Offsetof(ce.StrOff)+2, unsafe.Offsetof(ce.StrLen)+2)
	c.Blob = span(unsafe.Offsetof(ce.BlobOff), unsafe.Offsetof(ce.BlobLen))
	c.Argv = span(unsafe.Offsetof(ce.ArgvOff), unsafe.Offsetof(ce.ArgvLen))
	used := int(le.Uint32(raw[unsafe.Offsetof(ce.DataLen):]))
	n := copy(c.Data[:], raw[callHeaderSize:][:min(len(raw)-callHeaderSize, used)])
	// A span beyond what arrived (a short record) shrinks to what is there.
	for _, s := range []*model.Span{&c.Str[0], &c.Str[1], &c.Blob, &c.Argv} {
		s.Off = uint16(min(int(s.Off), n))
		s.Len = uint16(min(int(s.Len), n-int(s.Off)))
	}
	e.Parent, e.CgroupID = model.ProcID{}, 0
	return nil
}

// Layout of a young thread's counts event: its header and errnos, then only
// its used syscall slots.
var (
	cnt              tlmonCountsEvent
	countsHeaderSize = int(unsafe.Offsetof(cnt.Slot))
	countsSlotSize   = int(unsafe.Sizeof(cnt.Slot[0]))
	countsErrnoSize  = int(unsafe.Sizeof(cnt.Err[0]))
)

// decodeCounts decodes a struct counts_event.
func decodeCounts(raw []byte, e *model.Event) error {
	if len(raw) < countsHeaderSize {
		return fmt.Errorf("short counts event: %d bytes, want at least %d", len(raw), countsHeaderSize)
	}
	le := binary.LittleEndian
	c := &e.Counts
	e.Kind = model.EventCounts
	e.Proc = procID(le.Uint32(raw[unsafe.Offsetof(cnt.Tgid):]), le.Uint64(raw[unsafe.Offsetof(cnt.Start):]))
	e.TID = le.Uint32(raw[unsafe.Offsetof(cnt.Tid):])
	e.Time, e.Parent, e.CgroupID = 0, model.ProcID{}, 0
	c.Final = raw[unsafe.Offsetof(cnt.Final)] != 0
	c.NErrno = min(int(raw[unsafe.Offsetof(cnt.Nerrs)]), model.YoungErrnos)
	c.NSyscall = min(int(raw[unsafe.Offsetof(cnt.Nslots)]), model.YoungSyscalls, (len(raw)-countsHeaderSize)/countsSlotSize)
	io := raw[unsafe.Offsetof(cnt.Io):]
	c.IO = model.IOCounts{Read: le.Uint64(io), Written: le.Uint64(io[8:]), Received: le.Uint64(io[16:]), Sent: le.Uint64(io[24:])}
	for i := range c.NErrno {
		b := raw[int(unsafe.Offsetof(cnt.Err))+i*countsErrnoSize:]
		c.Errnos[i] = model.ErrnoCounts{Nr: le.Uint16(b), Errno: le.Uint16(b[2:]), Count: uint64(le.Uint32(b[4:]))}
	}
	s := &cnt.Slot[0]
	for i := range c.NSyscall {
		b := raw[countsHeaderSize+i*countsSlotSize:]
		c.Syscalls[i] = model.SyscallCounts{
			Nr: le.Uint16(b[unsafe.Offsetof(s.Nr):]),
			Counts: model.Counts{
				Calls:    uint64(le.Uint32(b[unsafe.Offsetof(s.Calls):])),
				Errors:   uint64(le.Uint32(b[unsafe.Offsetof(s.Errors):])),
				LatSumNs: le.Uint64(b[unsafe.Offsetof(s.LatSum):]),
				LatCount: uint64(le.Uint32(b[unsafe.Offsetof(s.LatCount):])),
			},
		}
	}
	return nil
}

// decodeTCP decodes a struct tcp_event.
func decodeTCP(raw []byte, e *model.Event) error {
	if len(raw) < tcpEventSize {
		return fmt.Errorf("short TCP event: %d bytes, want %d", len(raw), tcpEventSize)
	}
	le := binary.LittleEndian
	t := &e.TCP
	e.Kind = model.EventTCP
	t.OldState, t.NewState = raw[unsafe.Offsetof(te.Oldstate)], raw[unsafe.Offsetof(te.Newstate)]
	e.Proc = procID(le.Uint32(raw[unsafe.Offsetof(te.Tgid):]), le.Uint64(raw[unsafe.Offsetof(te.Start):]))
	e.TID = 0
	e.Time = le.Uint64(raw[unsafe.Offsetof(te.Time):])
	t.Family = le.Uint16(raw[unsafe.Offsetof(te.Family):])
	t.SPort = le.Uint16(raw[unsafe.Offsetof(te.Sport):])
	t.DPort = le.Uint16(raw[unsafe.Offsetof(te.Dport):])
	copy(t.SAddr[:], raw[unsafe.Offsetof(te.Saddr):])
	copy(t.DAddr[:], raw[unsafe.Offsetof(te.Daddr):])
	e.Parent, e.CgroupID = model.ProcID{}, 0
	return nil
}
