package syscalls

import (
	"bytes"
	"time"
	"tlmon/model"
)

// NewCallRecord keeps what a model.EventSyscall carries, as strings, stamped with
// the wall-clock time now. t names the call.
func NewCallRecord(t *Table, e *model.Event, now time.Time) model.CallRecord {
	c := &e.Call
	r := model.CallRecord{
		Proc: e.Proc, TID: e.TID, Time: now, Nr: int(c.Nr), Name: t.Name(int(c.Nr)),
		Flags: c.Flags, Ret: c.Ret, Duration: time.Duration(c.Duration), Args: c.Args,
	}
	for i, s := range c.Str {
		r.Strs[i] = string(c.Bytes(s))
	}
	if c.Blob.Len > 0 {
		r.Blob = append([]byte(nil), c.Bytes(c.Blob)...)
	}
	argv := c.Bytes(c.Argv)
	for n := 0; n < int(c.Argc) && len(argv) > 0; n++ {
		end := bytes.IndexByte(argv, 0)
		if end < 0 {
			end = len(argv)
		}
		r.Argv = append(r.Argv, string(argv[:end]))
		argv = argv[min(end+1, len(argv)):]
	}
	return r
}
