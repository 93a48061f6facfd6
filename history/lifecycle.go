package history

import (
	"time"

	"tlmon/model"
)

// Lifecycle events, recorded as they came: the forks, execs and exits of an
// interval with their kernel times, which the snapshots hold only as each
// process's start and exit. A lifecycle frame:
//
//	version byte (formatVersion), kind byte (kindLifecycle), count
//	per event: kind, time (ns from the previous event's, the first from 0),
//	pid, start, tid, parent pid, parent start, exit code | signal<<8 |
//	core dumped<<16, comm, filename (through the frame's string table)

const kindLifecycle = 4

// AppendLifecycle appends to dst the frame of events.
func AppendLifecycle(dst []byte, events []model.LifeRecord) []byte {
	e := encoder{buf: append(dst, formatVersion, kindLifecycle)}
	e.uvarint(uint64(len(events)))
	var last int64
	for i := range events {
		r := &events[i]
		e.uvarint(uint64(r.Kind))
		at := r.Time.UnixNano()
		e.varint(at - last)
		last = at
		e.uvarint(uint64(r.Proc.PID))
		e.uvarint(r.Proc.Start)
		e.uvarint(uint64(r.TID))
		e.uvarint(uint64(r.Parent.PID))
		e.uvarint(r.Parent.Start)
		e.uvarint(uint64(r.ExitCode) | uint64(r.ExitSignal)<<8 | b2w(r.CoreDumped)<<16)
		e.str(r.Comm)
		e.str(r.Filename)
	}
	return e.buf
}

// ReadLifecycle reads a frame AppendLifecycle wrote.
func ReadLifecycle(frame []byte) ([]model.LifeRecord, error) {
	d, err := openFrame(frame, kindLifecycle, "lifecycle")
	if err != nil {
		return nil, err
	}
	// Each event takes 11 bytes at least.
	n := d.count(d.remaining() / 11)
	events := make([]model.LifeRecord, n)
	var last int64
	for i := range events {
		r := &events[i]
		kind := d.uvarint()
		r.Kind = model.EventKind(kind)
		last += d.varint()
		r.Time = time.Unix(0, last)
		r.Proc = model.ProcID{PID: uint32(d.uvarint()), Start: d.uvarint()}
		r.TID = uint32(d.uvarint())
		r.Parent = model.ProcID{PID: uint32(d.uvarint()), Start: d.uvarint()}
		exit := d.uvarint()
		r.ExitCode, r.ExitSignal, r.CoreDumped = uint8(exit), uint8(exit>>8), exit>>16&1 != 0
		r.Comm, r.Filename = d.str(), d.str()
		if d.err == nil && (kind > 255 || !model.IsLifecycle(r.Kind) || exit>>17 != 0) {
			d.fail("bad lifecycle event")
		}
		if d.err != nil {
			return nil, d.err
		}
	}
	if d.err == nil && d.remaining() != 0 {
		d.fail("bytes after the events")
	}
	if d.err != nil {
		return nil, d.err
	}
	return events, nil
}
