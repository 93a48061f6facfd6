package bpf

import (
	"testing"
	"unsafe"

	"tlmon/model"
)

// FuzzDecodeEvent: any bytes from a buffer decode into an event or an error,
// never a panic, and a decoded event's slices stay within their bounds.
func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{byte(model.EventExec)})
	for _, kind := range []model.EventKind{model.EventExec, model.EventFork, model.EventExit, model.EventSyscall, model.EventTCP, model.EventCounts} {
		raw := make([]byte, EventSize+int(unsafe.Sizeof(tlmonCallEvent{})))
		raw[0] = byte(kind)
		for i := 1; i < len(raw); i++ {
			raw[i] = byte(i * 7)
		}
		f.Add(raw)
		f.Add(raw[:callHeaderSize])
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var e model.Event
		if err := DecodeEvent(raw, &e); err != nil {
			return
		}
		if e.Kind == model.EventCounts && (e.Counts.NSyscall > len(e.Counts.Syscalls) || e.Counts.NErrno > len(e.Counts.Errnos)) {
			t.Fatalf("counts event with %d syscalls and %d errnos of room for %d and %d", e.Counts.NSyscall, e.Counts.NErrno, len(e.Counts.Syscalls), len(e.Counts.Errnos))
		}
	})
}
