package output

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"tlmon/model"
	"tlmon/syscalls"
)

// EventLog prints detail events as they arrive (headless --events): one line
// each in strace notation, a JSON object per line with -o json, or a CSV row
// with -o csv. Lines are
// buffered and written by Flush, so a slow terminal does not stall the reader
// of the kernel's buffer.
type EventLog struct {
	Table  *syscalls.Table
	Output string // FormatJSON for JSON lines; anything else prints text

	// monoToWall turns the kernel's CLOCK_MONOTONIC event times into wall-clock
	// times: the offset between the two clocks when the log was made.
	monoToWall time.Duration

	mu  sync.Mutex
	w   *bufio.Writer
	csv *csv.Writer
	err error
}

// NewEventLog prints to out.
func NewEventLog(out io.Writer, t *syscalls.Table, output string) *EventLog {
	l := &EventLog{Table: t, Output: output, w: bufio.NewWriterSize(out, 64<<10)}
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) == nil {
		l.monoToWall = time.Duration(time.Now().UnixNano() - ts.Nano())
	}
	if output == FormatCSV {
		l.csv = csv.NewWriter(l.w)
		l.csv.Write([]string{"time", "pid", "tid", "syscall", "ret", "errno", "duration_ns", "call"})
	}
	return l
}

// callJSON is one call in the JSON lines of --events -o json.
type callJSON struct {
	Time       time.Time     `json:"time"`
	PID        uint32        `json:"pid"`
	StartTime  uint64        `json:"start_time"`
	TID        uint32        `json:"tid"`
	Syscall    string        `json:"syscall"`
	Nr         int           `json:"nr"`
	Args       [6]uint64     `json:"args"`
	Strings    []string      `json:"strings,omitempty"` // escaped (model.Escape)
	Argv       []string      `json:"argv,omitempty"`    // escaped
	Ret        int64         `json:"ret"`
	Errno      string        `json:"errno,omitempty"`
	Duration   time.Duration `json:"duration_ns"`
	Slow       bool          `json:"slow,omitempty"`
	Truncated  bool          `json:"truncated,omitempty"`
	Text       string        `json:"text"`
	Connection *tcpJSON      `json:"tcp,omitempty"`
}

type tcpJSON struct {
	State  string `json:"state"`
	Local  string `json:"local"`
	Remote string `json:"remote"`
}

// Add prints one event; lifecycle events are not printed (their calls are).
// It runs on the collector's event goroutine: e is reused after it returns.
func (l *EventLog) Add(e *model.Event) {
	var line []byte
	now := time.Unix(0, int64(e.Time)+int64(l.monoToWall)) // when the call returned
	switch e.Kind {
	case model.EventSyscall:
		c := syscalls.NewCallRecord(l.Table, e, now)
		text := syscalls.FormatCall(&c)
		switch l.Output {
		case FormatCSV:
			l.writeCSV(now, c.Proc.PID, c.TID, c.Name, strconv.FormatInt(c.Ret, 10), errnoName(c.Errno()), strconv.FormatInt(int64(c.Duration), 10), text)
			return
		case FormatJSON:
			j := callJSON{Time: now, PID: c.Proc.PID, StartTime: c.Proc.Start, TID: c.TID, Syscall: c.Name, Nr: c.Nr,
				Args: c.Args, Ret: c.Ret, Duration: c.Duration, Text: text,
				Slow:      c.Flags&model.CallSlow != 0,
				Truncated: c.Flags&(model.CallStr0Truncated|model.CallStr1Truncated|model.CallBlobTruncated|model.CallArgvTruncated) != 0}
			for i, s := range e.Call.Str {
				if s.Len > 0 {
					j.Strings = append(j.Strings, model.Escape(c.Strs[i]))
				}
			}
			for _, a := range c.Argv {
				j.Argv = append(j.Argv, model.Escape(a))
			}
			j.Errno = errnoName(c.Errno())
			line, _ = json.Marshal(j)
		default:
			line = fmt.Appendf(nil, "%s %7d %7d %s", now.Format("15:04:05.000000"), c.Proc.PID, c.TID, text)
		}
	case model.EventTCP:
		t := &e.TCP
		state := t.State()
		text := "tcp " + state + " " + t.Local().String() + " -> " + t.Remote().String()
		switch l.Output {
		case FormatCSV:
			l.writeCSV(now, e.Proc.PID, 0, "tcp", "", "", "", text)
			return
		case FormatJSON:
			line, _ = json.Marshal(callJSON{Time: now, PID: e.Proc.PID, StartTime: e.Proc.Start, Syscall: "tcp",
				Text:       text,
				Connection: &tcpJSON{State: state, Local: t.Local().String(), Remote: t.Remote().String()}})
		default:
			line = fmt.Appendf(nil, "%s %7d %7s %s", now.Format("15:04:05.000000"), e.Proc.PID, "-", text)
		}
	default:
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.w.Write(line)
		_, l.err = l.w.Write([]byte{'\n'})
	}
}

// writeCSV writes one row; the call's text is already inert (FormatCall
// quotes strings), the rest are numbers and names.
func (l *EventLog) writeCSV(at time.Time, pid, tid uint32, name, ret, errno, dur, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = l.csv.Write([]string{at.Format(time.RFC3339Nano), strconv.FormatUint(uint64(pid), 10),
			strconv.FormatUint(uint64(tid), 10), name, ret, errno, dur, text})
	}
}

func errnoName(n int) string {
	if n == 0 {
		return ""
	}
	return syscalls.ErrnoName(n)
}

// Flush writes what is buffered and returns the first write error.
func (l *EventLog) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.csv != nil && l.err == nil {
		l.csv.Flush()
		l.err = l.csv.Error()
	}
	if l.err == nil {
		l.err = l.w.Flush()
	}
	return l.err
}

// FlushEvery writes the lines out every period until ctx ends.
func (l *EventLog) FlushEvery(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.Flush()
		}
	}
}
