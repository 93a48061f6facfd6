package history

import (
	"bytes"
	"compress/flate"
	"io"
	"sort"
	"sync"
	"time"

	"tlmon/model"
)

// Detail events, kept with the frames: the calls of each interval (the
// events pane at a past moment, a recording's calls in a trace). A calls
// frame is its own bytes, as a snapshot frame is:
//
//	version byte (formatVersion), kind byte (kindCalls), count
//	per call: pid, start, tid, time (ns from the previous call's, the first
//	from 0), nr, name, flags, ret, duration, the six args, the two strings,
//	the blob, argv
//
// Strings go through the frame's string table: a name or a path met again
// is a reference.

const kindCalls = 2

// maxCallsFrame bounds the calls a frame may declare (a hostile frame
// cannot make the decoder allocate more).
const maxCallsFrame = 1 << 20

// AppendCalls appends to dst the frame of calls.
func AppendCalls(dst []byte, calls []model.CallRecord) []byte {
	e := encoder{buf: append(dst, formatVersion, kindCalls)}
	e.uvarint(uint64(len(calls)))
	var last int64
	for i := range calls {
		c := &calls[i]
		e.uvarint(uint64(c.Proc.PID))
		e.uvarint(c.Proc.Start)
		e.uvarint(uint64(c.TID))
		at := c.Time.UnixNano()
		e.varint(at - last)
		last = at
		e.varint(int64(c.Nr))
		e.str(c.Name)
		e.uvarint(uint64(c.Flags))
		e.varint(c.Ret)
		e.varint(int64(c.Duration))
		for _, a := range c.Args {
			e.uvarint(a)
		}
		e.str(c.Strs[0])
		e.str(c.Strs[1])
		e.uvarint(uint64(len(c.Blob)))
		e.buf = append(e.buf, c.Blob...)
		e.uvarint(uint64(len(c.Argv)))
		for _, a := range c.Argv {
			e.str(a)
		}
	}
	return e.buf
}

// ReadCalls reads a frame AppendCalls wrote.
func ReadCalls(frame []byte) ([]model.CallRecord, error) {
	d, err := openFrame(frame, kindCalls, "calls")
	if err != nil {
		return nil, err
	}
	n := d.uvarint()
	// Each call takes 20 bytes at least.
	if n > maxCallsFrame || n > uint64(d.remaining())/20 {
		d.fail("too many calls")
		return nil, d.err
	}
	calls := make([]model.CallRecord, n)
	var last int64
	for i := range calls {
		c := &calls[i]
		c.Proc.PID = uint32(d.uvarint())
		c.Proc.Start = d.uvarint()
		c.TID = uint32(d.uvarint())
		last += d.varint()
		c.Time = time.Unix(0, last)
		c.Nr = int(d.varint())
		c.Name = d.str()
		c.Flags = model.CallFlags(d.uvarint())
		c.Ret = d.varint()
		c.Duration = time.Duration(d.varint())
		for j := range c.Args {
			c.Args[j] = d.uvarint()
		}
		c.Strs[0], c.Strs[1] = d.str(), d.str()
		if blob := d.uvarint(); blob > 0 {
			if blob > uint64(d.remaining()) {
				d.fail("blob longer than the frame")
				break
			}
			c.Blob = append([]byte(nil), d.b[d.off:d.off+int(blob)]...)
			d.off += int(blob)
		}
		argc := d.uvarint()
		if argc > uint64(d.remaining()) {
			d.fail("argv longer than the frame")
			break
		}
		for range argc {
			c.Argv = append(c.Argv, d.str())
		}
		if d.err != nil {
			break
		}
	}
	if d.err == nil && d.remaining() != 0 {
		d.fail("bytes after the calls")
	}
	if d.err != nil {
		return nil, d.err
	}
	return calls, nil
}

// Calls keeps the calls frames of the snapshot frames a History keeps, by
// Seq: the calls of the interval that snapshot ends. Frames are kept
// deflated (names, paths and argv repeat: a quarter of their size or less)
// and, past Budget bytes, the oldest go first: under a build's churn the
// execs alone are thousands a second.
type Calls struct {
	// Budget bounds the bytes kept (0: no bound).
	Budget int

	mu     sync.Mutex
	frames []callsFrame // by Seq, ascending
	bytes  int
	z      *flate.Writer
	zbuf   bytes.Buffer
}

type callsFrame struct {
	seq  Seq
	data []byte // deflated
}

// Add keeps the calls of frame seq (newer than every frame kept) and
// returns their frame's bytes: a recorder writes them (and compresses them
// its own way).
func (c *Calls) Add(seq Seq, calls []model.CallRecord) []byte {
	data := AppendCalls(nil, calls)
	c.AddFrame(seq, data)
	return data
}

// AddFrame keeps a calls frame as it was written (a replay's).
func (c *Calls) AddFrame(seq Seq, frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.z == nil {
		c.z, _ = flate.NewWriter(&c.zbuf, flate.BestSpeed)
	}
	c.zbuf.Reset()
	c.z.Reset(&c.zbuf)
	c.z.Write(frame)
	c.z.Close()
	data := bytes.Clone(c.zbuf.Bytes())
	c.frames = append(c.frames, callsFrame{seq, data})
	c.bytes += len(data)
	for c.Budget > 0 && c.bytes > c.Budget && len(c.frames) > 1 {
		c.bytes -= len(c.frames[0].data)
		c.frames = c.frames[1:]
	}
}

// inflate is a kept frame as written.
func inflate(data []byte) ([]byte, error) {
	return io.ReadAll(flate.NewReader(bytes.NewReader(data)))
}

// DropBefore lets go the calls of frames older than seq (those the History
// dropped).
func (c *Calls) DropBefore(seq Seq) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := sort.Search(len(c.frames), func(i int) bool { return c.frames[i].seq >= seq })
	for _, f := range c.frames[:i] {
		c.bytes -= len(f.data)
	}
	c.frames = append(c.frames[:0], c.frames[i:]...)
}

// Bytes is the size of the calls kept.
func (c *Calls) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// Of returns the last n calls of process id up to frame seq, most recent
// first.
func (c *Calls) Of(id model.ProcID, seq Seq, n int) []model.CallRecord {
	c.mu.Lock()
	i := sort.Search(len(c.frames), func(i int) bool { return c.frames[i].seq > seq })
	frames := append([]callsFrame(nil), c.frames[:i]...)
	c.mu.Unlock()
	var out []model.CallRecord
	for j := len(frames) - 1; j >= 0 && len(out) < n; j-- {
		frame, err := inflate(frames[j].data)
		if err != nil {
			continue
		}
		calls, err := ReadCalls(frame)
		if err != nil {
			continue
		}
		for k := len(calls) - 1; k >= 0 && len(out) < n; k-- {
			if calls[k].Proc == id {
				out = append(out, calls[k])
			}
		}
	}
	return out
}

// All calls yield with every call kept, oldest first, until it returns
// false.
func (c *Calls) All(yield func(model.CallRecord) bool) {
	c.mu.Lock()
	frames := append([]callsFrame(nil), c.frames...)
	c.mu.Unlock()
	for _, f := range frames {
		frame, err := inflate(f.data)
		if err != nil {
			continue
		}
		calls, err := ReadCalls(frame)
		if err != nil {
			continue
		}
		for _, call := range calls {
			if !yield(call) {
				return
			}
		}
	}
}

// DetailCalls is how many of a process's last calls the events pane shows
// at a past moment.
const DetailCalls = 200

// Oldest is the Seq of the oldest frame kept.
func (h *History) Oldest() Seq {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.first
}

// ProcDetail is what calls (a process's, most recent first) say of it, as
// the aggregator's ProcDetail: the calls, and the files they opened and
// the addresses they connected to, bound or accepted, by count.
func ProcDetail(calls []model.CallRecord) model.ProcDetail {
	files := map[string]*model.FileStat{}
	ends := map[string]*model.EndpointStat{}
	for i := range calls {
		c := &calls[i]
		errno := c.Errno()
		switch c.Name {
		case "open", "openat", "openat2", "creat":
			f := files[c.Strs[0]]
			if f == nil {
				f = &model.FileStat{Path: c.Strs[0], LastProc: c.Proc}
				files[c.Strs[0]] = f
			}
			f.Opens++
			if errno != 0 {
				f.Errors++
			}
		case "connect", "bind", "accept", "accept4":
			sa, ok := model.DecodeSockaddr(c.Blob)
			if !ok {
				continue
			}
			e := ends[sa.String()]
			if e == nil {
				e = &model.EndpointStat{Endpoint: sa.String(), LastProc: c.Proc}
				ends[sa.String()] = e
			}
			switch c.Name {
			case "connect":
				e.Connects++
			case "bind":
				e.Binds++
			default:
				e.Accepts++
			}
			if errno != 0 {
				e.Errors++
			}
		}
	}
	d := model.ProcDetail{Calls: calls}
	for _, f := range files {
		d.Files = append(d.Files, *f)
	}
	for _, e := range ends {
		d.Endpoints = append(d.Endpoints, *e)
	}
	sort.Slice(d.Files, func(i, j int) bool {
		a, b := d.Files[i], d.Files[j]
		return a.Opens > b.Opens || a.Opens == b.Opens && a.Path < b.Path
	})
	sort.Slice(d.Endpoints, func(i, j int) bool {
		a, b := d.Endpoints[i], d.Endpoints[j]
		na, nb := a.Connects+a.Binds+a.Accepts, b.Connects+b.Binds+b.Accepts
		return na > nb || na == nb && a.Endpoint < b.Endpoint
	})
	return d
}
