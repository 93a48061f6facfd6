package ui

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"tlmon/model"
	"tlmon/output"
	"tlmon/syscalls"
)

// The views of detail events: the files opened, the endpoints named and the TCP
// connections seen (top-level views 4 and 5), and one process's recent calls in
// strace notation (its events pane, e in its drill-down). All come from the
// classes whose detail is on; when there is nothing, they say which key
// switches it on.

var (
	fileColumns = []column{
		{title: "PATH", width: 20, flex: true, cutLeft: true, cell: textCell(func(f *model.FileStat) string { return model.Escape(f.Path) })},
		{title: "OPENS", width: 7, right: true, cell: countCell(func(f *model.FileStat) uint64 { return f.Opens })},
		{title: "ERRORS", width: 7, right: true, alert: nonZero, cell: countCell(func(f *model.FileStat) uint64 { return f.Errors })},
		{title: "TOP ERRNO", width: 12, drop: 1, cell: textCell(func(f *model.FileStat) string { return firstErrno(f.Errnos) })},
		{title: "LAST PROCESS", width: 22, drop: 2, cell: textCell(func(f *model.FileStat) string { return lastProcess(f.LastProc, f.LastComm) })},
	}
	endpointColumns = []column{
		{title: "ENDPOINT", width: 21, flex: true, cutLeft: true, cell: textCell(func(e *model.EndpointStat) string { return model.Escape(e.Endpoint) })},
		{title: "CONNECTS", width: 9, right: true, cell: countCell(func(e *model.EndpointStat) uint64 { return e.Connects })},
		{title: "ACCEPTS", width: 8, right: true, cell: countCell(func(e *model.EndpointStat) uint64 { return e.Accepts })},
		{title: "BINDS", width: 7, right: true, cell: countCell(func(e *model.EndpointStat) uint64 { return e.Binds })},
		{title: "ERRORS", width: 7, right: true, alert: nonZero, cell: countCell(func(e *model.EndpointStat) uint64 { return e.Errors })},
		{title: "TOP ERRNO", width: 12, drop: 1, cell: textCell(func(e *model.EndpointStat) string { return firstErrno(e.Errnos) })},
		{title: "LAST PROCESS", width: 22, drop: 2, cell: textCell(func(e *model.EndpointStat) string { return lastProcess(e.LastProc, e.LastComm) })},
	}
	tcpColumns = []column{
		// Microseconds since the epoch: exact in a float64, unlike ns.
		{title: "TIME", width: 8, right: true, drop: 1, cell: cellOf(func(c *model.TCPConn) (string, float64) {
			return c.Time.Format("15:04:05"), float64(c.Time.UnixMicro())
		})},
		{title: "PID", width: 7, right: true, cell: idCell(func(c *model.TCPConn) uint32 { return c.Proc.PID })},
		{title: "COMM", width: 16, cell: textCell(func(c *model.TCPConn) string { return model.Escape(c.Comm) })},
		{title: "LOCAL", width: 21, drop: 2, cell: textCell(func(c *model.TCPConn) string { return c.Local.String() })},
		{title: "REMOTE", width: 21, flex: true, cell: textCell(func(c *model.TCPConn) string { return c.Remote.String() })},
		{title: "STATE", width: 11, cell: textCell(func(c *model.TCPConn) string { return model.Escape(c.State) })},
	}
	eventColumns = []column{
		{title: "TIME", width: 12, right: true, cell: cellOf(func(c *model.CallRecord) (string, float64) {
			return c.Time.Format("15:04:05.000"), float64(c.Time.UnixMicro())
		})},
		{title: "TID", width: 7, right: true, drop: 1, cell: idCell(func(c *model.CallRecord) uint32 { return c.TID })},
		// The duration has its own column, to sort by: FormatCall leaves it
		// out of a call marked as having none. FormatCall quotes what came
		// from user memory; Sanitize is the backstop every string on screen
		// goes through.
		{title: "CALL", width: 20, flex: true, cell: textCell(func(c *model.CallRecord) string {
			bare := *c
			bare.Flags |= model.CallNoDuration
			return syscalls.FormatCall(&bare)
		})},
		{title: "DURATION", width: 9, right: true, cell: cellOf(func(c *model.CallRecord) (string, float64) {
			if c.Flags&model.CallNoDuration != 0 {
				return "-", float64(c.Duration)
			}
			return output.Duration(uint64(c.Duration)), float64(c.Duration)
		})},
	}
)

func newFilesView() *tableView {
	return &tableView{
		table: table{cols: fileColumns, sortCol: 1},
		vid:   viewFiles, name: "Files",
		build: fileRows, fedBy: model.ClassFile,
		whyEmpty: func(d *data) string {
			return detailHint(d, model.ClassFile, "file opens")
		},
		drill: drillToLink,
	}
}

// newConnectionsViews are the two lists of the Connections view: the
// endpoints named by connect, bind and accept, and the TCP connections seen;
// e swaps one for the other, each keeping its cursor, sort and filter.
func newConnectionsViews() (endpoints, tcp *tableView) {
	endpoints = &tableView{
		table: table{cols: endpointColumns, sortCol: 1},
		vid:   viewEndpoints, name: "Connections",
		build: endpointRows, fedBy: model.ClassNetwork,
		whyEmpty: func(d *data) string {
			return detailHint(d, model.ClassNetwork, "connect, bind or accept")
		},
		drill: drillToLink,
	}
	tcp = &tableView{
		table: table{cols: tcpColumns, sortCol: 0},
		vid:   viewTCP, name: "TCP connections",
		build: tcpRows, fedBy: model.ClassNetwork,
		whyEmpty: func(d *data) string {
			return detailHint(d, model.ClassNetwork, "TCP connection")
		},
		drill: drillToLink,
	}
	endpoints.other, endpoints.otherName = func(*data) *tableView { return tcp }, "tcp connections"
	tcp.other, tcp.otherName = func(*data) *tableView { return endpoints }, "endpoints"
	return endpoints, tcp
}

// newEventsView is the events pane of one process: its recent calls as
// Backend.ProcDetail returns them, formatted like strace, most recent first,
// with its top files and endpoints below.
func newEventsView(id model.ProcID, d *data) *tableView {
	name := "events of pid " + strconv.FormatUint(uint64(id.PID), 10)
	if p := d.procs[id]; p != nil {
		name = "events of " + procLabel(p)
	}
	return &tableView{
		table:    table{cols: eventColumns, sortCol: 0},
		vid:      viewEvents,
		name:     name,
		build:    eventRows,
		whyEmpty: eventsHint,
		drill:    drillToCall,
		foot:     procDetailLines,
		proc:     id,
	}
}

// drillToLink leads from a file, an endpoint or a connection to the syscalls of
// the process that last touched it.
func drillToLink(r row, d *data) view {
	if r.link == (model.ProcID{}) {
		return nil
	}
	if d.procs[r.link] != nil || r.comm == "" {
		return newProcSyscallsView(r.link, d)
	}
	// A short-lived client is gone by the time its row is chosen: show the
	// processes of its command that are still listed, or say what happened.
	for i := range d.snap.Processes {
		if d.snap.Processes[i].Comm == r.comm {
			return newCommandView(r.comm)
		}
	}
	label := fmt.Sprintf("%s %d", model.Escape(r.comm), r.link.PID)
	return &detailView{vid: viewCall, name: label, build: func(*data, int) []textLine {
		return []textLine{
			{text: label, heading: true},
			{text: label + " has exited and is no longer listed: its counts are in the totals."},
			{text: "No other " + model.Escape(r.comm) + " process is listed now."},
		}
	}}
}

// drillToCall shows one call of the events pane in full: a long call is cut
// in its row.
func drillToCall(r row, d *data) view {
	for i := range d.procDetail.Calls {
		if c := &d.procDetail.Calls[i]; c.TID == r.key.tid && c.Nr == r.key.nr && c.Time.UnixNano() == r.key.at {
			call := *c // the pane's calls are replaced on the next tick
			name := cmp.Or(call.Name, "call")
			return &detailView{vid: viewCall, name: name, build: func(_ *data, width int) []textLine { return callLines(&call, width) }}
		}
	}
	return nil
}

// callLines are one call wrapped to the width, and how it was captured.
func callLines(c *model.CallRecord, width int) []textLine {
	lines := []textLine{{text: strings.ToUpper(cmp.Or(c.Name, "call")), heading: true}}
	for _, l := range strings.Split(ansi.Wrap(syscalls.FormatCall(c), max(20, width-4), ", "), "\n") {
		lines = append(lines, textLine{text: l})
	}
	dur := "unknown (its entry was not seen)"
	if c.Flags&model.CallNoDuration == 0 {
		dur = output.Duration(uint64(c.Duration))
	}
	field := func(name, value string) textLine { return textLine{text: fmt.Sprintf("%-9s %s", name, value)} }
	lines = append(lines, textLine{},
		field("returned", c.Time.Format("2006-01-02 15:04:05.000000")),
		field("thread", strconv.FormatUint(uint64(c.TID), 10)),
		field("duration", dur))
	var notes []string
	if c.Flags&model.CallSlow != 0 {
		notes = append(notes, "sent because it was slow")
	}
	if c.Flags&model.CallAtExit != 0 {
		notes = append(notes, "strings read at exit")
	}
	if c.Flags&(model.CallStr0Truncated|model.CallStr1Truncated|model.CallBlobTruncated|model.CallArgvTruncated) != 0 {
		notes = append(notes, "arguments cut to what the kernel copies (...)")
	}
	if len(notes) > 0 {
		lines = append(lines, field("note", strings.Join(notes, "; ")))
	}
	return lines
}

// lastProcess names the process that last touched a file or an endpoint.
func lastProcess(id model.ProcID, comm string) string {
	if id == (model.ProcID{}) {
		return ""
	}
	return model.Escape(comm) + " " + strconv.FormatUint(uint64(id.PID), 10)
}

func firstErrno(e []model.ErrnoCount) string {
	if len(e) == 0 {
		return ""
	}
	return e[0].Name
}

func fileRows(d *data) []row {
	files := d.snap.Files
	rows := make([]row, len(files))
	rm := newRowMaker(fileColumns, len(files))
	for i := range files {
		f := &files[i]
		r := rm.row(f)
		r.key, r.link, r.comm = rowKey{name: f.Path}, f.LastProc, f.LastComm
		r.match = strings.ToLower(r.cells[0] + " " + r.cells[4])
		rows[i] = r
	}
	return rows
}

func endpointRows(d *data) []row {
	eps := d.snap.Endpoints
	rows := make([]row, len(eps))
	rm := newRowMaker(endpointColumns, len(eps))
	for i := range eps {
		e := &eps[i]
		r := rm.row(e)
		r.key, r.link, r.comm = rowKey{name: e.Endpoint}, e.LastProc, e.LastComm
		r.match = strings.ToLower(r.cells[0] + " " + r.cells[6])
		rows[i] = r
	}
	return rows
}

func tcpRows(d *data) []row {
	conns := d.snap.Conns
	rows := make([]row, len(conns))
	rm := newRowMaker(tcpColumns, len(conns))
	for i := range conns {
		c := &conns[i]
		r := rm.row(c)
		pid, comm, local, remote, state := r.cells[1], r.cells[2], r.cells[3], r.cells[4], r.cells[5]
		r.key = rowKey{proc: c.Proc, name: local + ">" + remote + " " + state, at: c.Time.UnixNano()}
		r.link, r.comm = c.Proc, c.Comm
		r.match = strings.ToLower(pid + " " + comm + " " + local + " " + remote + " " + state)
		rows[i] = r
	}
	return rows
}

func eventRows(d *data) []row {
	calls := d.procDetail.Calls
	rows := make([]row, len(calls))
	rm := newRowMaker(eventColumns, len(calls))
	for i := range calls {
		c := &calls[i]
		r := rm.row(c)
		r.key = rowKey{tid: c.TID, nr: c.Nr, at: c.Time.UnixNano()}
		r.match = strings.ToLower(r.cells[2])
		if len(d.rules) > 0 {
			r.hl = callHighlight(d, c)
		}
		rows[i] = r
	}
	return rows
}

// callHighlight is the highlight rule matching a call, + 1 (highlightOf).
func callHighlight(d *data, c *model.CallRecord) uint8 {
	comm := ""
	if p := d.procs[c.Proc]; p != nil {
		comm = p.Comm
	}
	errno := ""
	if e := c.Errno(); e != 0 {
		errno = syscalls.ErrnoName(e)
	}
	return highlightOf(d.rules, c.Name, errno, comm, c.Duration)
}

// procDetailLines are the top files and endpoints of the process whose events
// show, in at most n lines: half each when there are both.
func procDetailLines(d *data, n int) []textLine {
	files, eps := d.procDetail.Files, d.procDetail.Endpoints
	const layout = "%7s %7s  %-12s %s"
	var lines []textLine
	list := func(room int, calls, title string, items int, item func(i int) textLine) {
		if items == 0 || room < 2 {
			return
		}
		lines = append(lines, textLine{text: fmt.Sprintf(layout, calls, "ERRORS", "TOP ERRNO", title), heading: true})
		for i := range min(items, room-1) {
			lines = append(lines, item(i))
		}
	}
	room := n
	if len(eps) > 0 {
		room = n / 2
	}
	list(room, "OPENS", "FILE", len(files), func(i int) textLine {
		f := &files[i]
		return textLine{text: fmt.Sprintf(layout, count(f.Opens), count(f.Errors), firstErrno(f.Errnos), model.Escape(f.Path))}
	})
	list(n-len(lines), "CALLS", "ENDPOINT", len(eps), func(i int) textLine {
		e := &eps[i]
		return textLine{text: fmt.Sprintf(layout, count(e.Connects+e.Accepts+e.Binds), count(e.Errors), firstErrno(e.Errnos), model.Escape(e.Endpoint))}
	})
	return lines
}

// detailHint says why a list fed by one class's detail is empty, and which key
// changes that.
func detailHint(d *data, c model.Class, what string) string {
	i := classIndex(c)
	name, k := model.ClassNames[i], classKeys[i]
	switch {
	case d.detail&c == 0:
		return fmt.Sprintf("no %s seen: %s detail is off — press %s, then %s", what, name, classMenuKey, strings.ToUpper(k))
	case d.classes&c == 0:
		return fmt.Sprintf("no %s seen: %s detail is on but %s is not counted — press %s, then %s", what, name, name, classMenuKey, k)
	}
	return fmt.Sprintf("no %s yet (%s detail is on)", what, name)
}

// eventsHint says why a process's events pane is empty.
func eventsHint(d *data) string {
	switch {
	case d.traced != (model.ProcID{}) && d.traced == d.procDetailOf:
		return "no calls from this process yet: it is traced, every call it makes shows here"
	case d.detail == 0:
		return "no events: detail is off — d traces this process; " + classMenuKey + ", then F, N… a class"
	case d.detail&d.classes == 0:
		return "no events: detail is on for " + d.detail.String() + ", but none of them is counted"
	}
	return "no events from this process yet (detail on for " + (d.detail & d.classes).String() + ")"
}

func classIndex(c model.Class) int {
	for i, cl := range model.AllClasses {
		if cl == c {
			return i
		}
	}
	return 0
}
