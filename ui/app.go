package ui

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"tlmon/model"
	"tlmon/themes"
)

// Options are the interactive monitor's settings.
type Options struct {
	// Interval is how often the snapshot is pulled and the screen redrawn
	// (default 1s).
	Interval time.Duration
	// FirstTick, if set and shorter than Interval, is when the first snapshot
	// is pulled: just after the collector's first read (collector.Config's
	// FirstRead), so the first screen has numbers.
	FirstTick time.Duration
	// Theme is auto, dark, light or mono (themes.Names); "" is auto. NO_COLOR
	// in the environment forces mono.
	Theme string
	// Mouse turns on wheel scrolling and click selection; it is off by default
	// because it takes text selection away from the terminal.
	Mouse bool
}

// The least terminal the monitor draws in.
const minWidth, minHeight = 60, 12

// statusFor is how long a message stays in the status line.
const statusFor = 5 * time.Second

// Run shows the interactive monitor until the user quits or ctx is done (main
// cancels it on signals), and returns the program's error.
func Run(ctx context.Context, b Backend, o Options) error {
	return run(ctx, b, o)
}

func run(ctx context.Context, b Backend, o Options, opts ...tea.ProgramOption) error {
	if err := themes.Check(o.Theme); err != nil {
		return err
	}
	name := themes.WithNoColor(o.Theme, os.Getenv("NO_COLOR"))
	// main owns the signals: they cancel ctx, which quits cleanly. The AfterFunc
	// may run before p.Run; Quit then waits for the program to start.
	// 20 frames a second at most (Bubble Tea's default is 60): the renderer
	// wakes at every frame to compare the view, and the picture changes once
	// a refresh or a key, which 50 ms shows soon enough.
	p := tea.NewProgram(newApp(b, o, name), append([]tea.ProgramOption{tea.WithoutSignalHandler(), tea.WithFPS(20)}, opts...)...)
	stop := context.AfterFunc(ctx, p.Quit)
	defer stop()
	_, err := p.Run()
	return err
}

// app is the root model: it owns the size, theme, keys and the snapshot shown,
// handles the global keys and hands the rest to the view on top.
type app struct {
	b     Backend
	opts  Options
	keys  KeyMap
	help  help.Model
	theme themes.Theme
	// autoTheme follows the terminal's background colour once it answers.
	autoTheme bool

	width, height int
	now           time.Time // of the last tick

	data    data // with the classes counted and those in detail
	meta    Meta
	paused  bool
	polling bool // an InFlight call is under way
	// threadsPID is the process whose threads the kernel counts (0: none);
	// threadsPolling: a Threads call is under way.
	threadsPID     uint32
	threadsPolling bool

	// tops are processes, syscalls, in flight, files and connections: kept
	// with their cursor and sort (e swaps the connections' two lists).
	tops  [5]view
	stack []view // stack[0] is one of tops, drill-downs above
	// procViews are the Processes view one row per process and grouped by
	// command (C): tops[0] is one of them.
	procViews [2]*tableView

	filtering bool
	filter    textinput.Model

	picker     *picker
	showHelp   bool
	helpOffset int // the first line of the full help shown
	showLosses bool

	status    string
	statusErr bool
	statusAt  time.Time
}

type (
	tickMsg     time.Time
	inFlightMsg struct {
		list []InFlight
		err  error
	}
	targetsMsg struct {
		list []Target
		err  error
	}
	threadsMsg struct {
		pid  uint32
		list []ThreadStat
		err  error
	}
	attachedMsg struct {
		target Target
		err    error
	}
)

func newApp(b Backend, o Options, themeName string) *app {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	endpoints, _ := newConnectionsViews()
	procs := [2]*tableView{newProcessesView(), newCommandsView()}
	m := &app{b: b, opts: o, keys: DefaultKeyMap(), help: help.New(),
		// Dark until the terminal says otherwise: the question must not hold
		// up the first frame.
		autoTheme: themeName == "" || themeName == "auto",
		tops:      [5]view{procs[0], newSyscallsView(), newInFlightView(), newFilesView(), endpoints},
		procViews: procs,
	}
	m.stack = []view{m.tops[0]}
	m.filter = newInput("/", &m.theme)
	m.setTheme(themes.Pick(themeName, true))
	m.data.setSnapshot(b.Snapshot())
	m.meta, m.data.classes, m.data.detail = b.Meta(), b.Classes(), b.Detail()
	m.data.boot = m.meta.Boot
	m.tops[0].refresh(&m.data)
	return m
}

func (m *app) Init() tea.Cmd {
	first := m.tick()
	if f := m.opts.FirstTick; f > 0 && f < m.opts.Interval {
		first = tea.Tick(f, func(t time.Time) tea.Msg { return tickMsg(t) })
	}
	cmds := []tea.Cmd{first}
	if m.autoTheme {
		cmds = append(cmds, tea.RequestBackgroundColor)
	}
	return tea.Batch(cmds...)
}

func (m *app) tick() tea.Cmd {
	return tea.Tick(m.opts.Interval, func(t time.Time) tea.Msg { return tickMsg(t) })
}

func (m *app) setTheme(th themes.Theme) {
	m.theme = th
	m.help.Styles = th.Help
	m.filter.SetStyles(inputStyles(&m.theme))
	if m.picker != nil {
		m.picker.input.SetStyles(inputStyles(&m.theme))
	}
}

func (m *app) top() view { return m.stack[len(m.stack)-1] }

func (m *app) bodyHeight() int { return m.height - headerHeight - 2 } // 2: status, help

// layout gives every view the room it has now.
func (m *app) layout() {
	m.help.SetWidth(m.width)
	for _, v := range m.tops {
		v.setSize(m.width, m.bodyHeight())
	}
	for _, v := range m.stack[1:] {
		v.setSize(m.width, m.bodyHeight())
	}
	if m.picker != nil {
		m.picker.height = m.bodyHeight() - pickerHead
		m.picker.move(0)
	}
}

// show brings the view on top up to date.
func (m *app) show() tea.Cmd {
	v := m.top()
	v.setSize(m.width, m.bodyHeight())
	if m.shownEvents() != m.data.procDetailOf { // opened, or gone
		m.pollProcDetail()
	}
	v.refresh(&m.data)
	return tea.Batch(m.pollInFlight(), m.pollThreads())
}

// shownEvents is the process whose events pane is on top (zero: none).
func (m *app) shownEvents() model.ProcID {
	if tv, ok := m.top().(*tableView); ok && tv.events {
		return tv.proc
	}
	return model.ProcID{}
}

// pollProcDetail reads the detail of the process whose events pane shows: on
// each tick while it shows (pull, so never while paused), and once when it
// opens, paused or not, so that it never opens empty. It is a copy out of the
// aggregator's memory, as cheap as Snapshot, so it is read here rather than
// in a command. Once the pane is gone, what it held is let go.
func (m *app) pollProcDetail() {
	if id := m.shownEvents(); id != (model.ProcID{}) {
		m.data.procDetail, m.data.procDetailOf = m.b.ProcDetail(id), id
	} else {
		m.data.procDetail, m.data.procDetailOf = model.ProcDetail{}, id
	}
}

// shownThreads is the process whose Threads view is on top (0: none).
func (m *app) shownThreads() uint32 {
	if tv, ok := m.top().(*tableView); ok && tv.threads {
		return tv.proc.PID
	}
	return 0
}

// pollThreads asks for the per-thread counts while the Threads view shows, and
// tells the backend to stop counting threads once it no longer does.
func (m *app) pollThreads() tea.Cmd {
	pid := m.shownThreads()
	if m.threadsPolling || m.picker != nil || (pid == 0 && m.threadsPID == 0) || (pid != 0 && m.paused) {
		return nil
	}
	if pid != m.threadsPID {
		m.data.threads = nil
	}
	m.threadsPID, m.threadsPolling = pid, true
	b := m.b
	return func() tea.Msg {
		list, err := b.Threads(pid)
		return threadsMsg{pid, list, err}
	}
}

// pull takes the aggregator's latest snapshot, unless paused.
func (m *app) pull() {
	if m.paused {
		return
	}
	m.meta, m.data.classes, m.data.detail = m.b.Meta(), m.b.Classes(), m.b.Detail()
	s := m.b.Snapshot()
	events := m.shownEvents() != model.ProcID{} && m.picker == nil
	if s == m.data.snap && !events {
		return
	}
	if s != m.data.snap {
		m.data.setSnapshot(s)
	}
	if events { // the pane's calls change without a new snapshot
		m.pollProcDetail()
	}
	m.top().refresh(&m.data)
}

// pollInFlight asks for the in-flight threads, only while that view shows:
// it costs a walk of /proc.
func (m *app) pollInFlight() tea.Cmd {
	if m.paused || m.polling || m.top() != m.tops[2] || m.picker != nil {
		return nil
	}
	m.polling = true
	b := m.b
	return func() tea.Msg {
		list, err := b.InFlight()
		return inFlightMsg{list, err}
	}
}

// errText is an error as the status line shows it: escaped, since an error
// may quote a process's name or a path.
func errText(err error) string { return model.Escape(err.Error()) }

func (m *app) setStatus(isErr bool, format string, args ...any) {
	m.status = fmt.Sprintf(format, args...)
	m.statusErr, m.statusAt = isErr, m.now
}

func (m *app) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
	case tea.BackgroundColorMsg:
		if m.autoTheme {
			m.setTheme(themes.Pick("auto", msg.IsDark()))
		}
	case tickMsg:
		m.now = time.Time(msg)
		if m.status != "" && m.now.Sub(m.statusAt) > statusFor {
			m.status = ""
		}
		m.pull()
		return m, tea.Batch(m.tick(), m.pollInFlight(), m.pollThreads())
	case threadsMsg:
		m.threadsPolling = false
		if msg.err != nil {
			m.setStatus(true, "threads: %s", errText(msg.err))
		}
		if msg.pid != 0 && msg.pid == m.shownThreads() && !m.paused {
			m.data.threads = msg.list
			m.top().refresh(&m.data)
		}
	case inFlightMsg:
		m.polling = false
		if msg.err != nil {
			m.setStatus(true, "in flight: %s", errText(msg.err))
		}
		if !m.paused {
			m.data.inflight = msg.list
			if m.top() == m.tops[2] {
				m.top().refresh(&m.data)
			}
		}
	case targetsMsg:
		switch {
		case m.picker == nil: // closed before the list came
		case msg.err != nil:
			m.picker = nil
			m.setStatus(true, "attach: %s", errText(msg.err))
		default:
			m.picker.setTargets(msg.list)
		}
	case attachedMsg:
		if msg.err != nil {
			m.setStatus(true, "attach to %s: %s", targetLabel(msg.target), errText(msg.err))
		} else {
			m.setStatus(false, "watching %s", targetLabel(msg.target))
			m.pull()
		}
	case tea.KeyPressMsg:
		return m, m.onKey(msg)
	case tea.PasteMsg:
		switch {
		case m.picker != nil:
			return m, m.pickerInput(msg)
		case m.filtering:
			return m, m.filterInput(msg)
		}
	case tea.MouseWheelMsg:
		delta := 3
		if msg.Button == tea.MouseWheelUp {
			delta = -3
		}
		if m.picker != nil {
			m.picker.move(delta)
		} else {
			m.top().wheel(delta)
		}
	case tea.MouseClickMsg:
		if m.picker == nil && !m.showHelp && !m.showLosses {
			m.top().click(msg.Y - headerHeight)
		}
	}
	return m, nil
}

func (m *app) onKey(msg tea.KeyPressMsg) tea.Cmd {
	k := &m.keys
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	switch {
	case m.picker != nil:
		return m.pickerKey(msg)
	case m.filtering:
		return m.filterKey(msg)
	case m.showHelp: // moves scroll a help taller than the screen; other keys close it
		if m.scrollHelp(msg) {
			return nil
		}
		m.showHelp = false
		if key.Matches(msg, k.Quit) {
			return tea.Quit
		}
		return nil
	case m.showLosses:
		if key.Matches(msg, k.Quit) {
			return tea.Quit
		}
		if key.Matches(msg, k.Back, k.Losses) {
			m.showLosses = false
		}
		return nil
	}

	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Help):
		m.showHelp, m.helpOffset = true, 0
	case key.Matches(msg, k.Losses):
		m.showLosses = true
	case key.Matches(msg, k.Pause):
		m.paused = !m.paused
		if !m.paused { // back to the present at once
			m.pull()
			return m.show()
		}
	case key.Matches(msg, k.Slow):
		m.nextSlow()
	case key.Matches(msg, k.Clear):
		m.b.Clear()
		m.setStatus(false, "counters cleared")
		m.pull()
	case key.Matches(msg, k.Attach):
		m.picker = newPicker(&m.theme, m.meta.HybridCgroups)
		m.layout()
		b := m.b
		return func() tea.Msg {
			list, err := b.Targets()
			return targetsMsg{list, err}
		}
	case key.Matches(msg, k.NextView):
		return m.switchTo((m.topIndex() + 1) % len(m.tops))
	case key.Matches(msg, k.Processes):
		return m.switchTo(0)
	case key.Matches(msg, k.Syscalls):
		return m.switchTo(1)
	case key.Matches(msg, k.InFlight):
		return m.switchTo(2)
	case key.Matches(msg, k.Files):
		return m.switchTo(3)
	case key.Matches(msg, k.Connections):
		return m.switchTo(4)
	case key.Matches(msg, k.Swap):
		if tv, ok := m.top().(*tableView); ok && tv.other != nil {
			next := tv.other(&m.data)
			if len(m.stack) == 1 {
				m.tops[m.topIndex()] = next
			}
			m.stack[len(m.stack)-1] = next
			return m.show()
		}
	case key.Matches(msg, k.Group):
		return m.toggleGroups()
	case key.Matches(msg, k.HideExited):
		m.data.hideExited = !m.data.hideExited
		if m.data.hideExited {
			m.setStatus(false, "exited processes hidden")
		} else {
			m.setStatus(false, "exited processes shown for %s after their exit", exitedGrace)
		}
		m.top().refresh(&m.data)
	case key.Matches(msg, k.HideKernel):
		m.data.hideKernel = !m.data.hideKernel
		if m.data.hideKernel {
			m.setStatus(false, "kernel threads hidden")
		} else {
			m.setStatus(false, "kernel threads shown")
		}
		m.top().refresh(&m.data)
	case key.Matches(msg, k.Threads):
		if id, ok := m.selectedProc(); ok {
			m.stack = append(m.stack, newThreadsView(id, &m.data))
			return m.show()
		}
	case key.Matches(msg, k.Filter):
		if tv, ok := m.top().(*tableView); ok {
			m.filtering = true
			m.filter.SetValue(tv.filter)
			m.filter.CursorEnd()
			return m.filter.Focus()
		}
	case key.Matches(msg, k.Back):
		if tv, ok := m.top().(*tableView); ok && tv.filter != "" {
			tv.setFilter("")
		} else if len(m.stack) > 1 {
			m.stack = m.stack[:len(m.stack)-1]
			return m.show()
		}
	default:
		for i, b := range k.Classes {
			if key.Matches(msg, b) {
				m.toggleClass(model.AllClasses[i])
				return nil
			}
		}
		for i, b := range k.Details {
			if key.Matches(msg, b) {
				m.toggleDetail(i)
				return nil
			}
		}
		if next := m.top().key(msg, k, &m.data); next != nil {
			m.stack = append(m.stack, next)
			return m.show()
		}
	}
	return nil
}

func (m *app) topIndex() int {
	for i, v := range m.tops {
		if v == m.stack[0] {
			return i
		}
	}
	return 0
}

// selectedProc is the process the view on top is about, or the one under its
// cursor.
func (m *app) selectedProc() (model.ProcID, bool) {
	tv, ok := m.top().(*tableView)
	if !ok || tv.threads {
		return model.ProcID{}, false
	}
	if tv.proc != (model.ProcID{}) {
		return tv.proc, true
	}
	if r, ok := tv.selected(); ok && r.key.proc != (model.ProcID{}) {
		return r.key.proc, true
	}
	return model.ProcID{}, false
}

// toggleGroups shows the Processes view one row per command, or one row per
// process again, with the cursor on the command it was on (and following it
// if it followed).
func (m *app) toggleGroups() tea.Cmd {
	from, ok := m.top().(*tableView)
	if !ok || len(m.stack) > 1 || !(from == m.procViews[0] || from == m.procViews[1]) {
		m.setStatus(false, "C groups the Processes view (1) by command")
		return nil
	}
	to := m.procViews[0]
	if from == to {
		to = m.procViews[1]
	}
	m.tops[0], m.stack[0] = to, to
	cmd := m.show()
	if r, ok := from.selected(); ok {
		to.focusComm(r.comm)
		to.follow = false
		if from.follow {
			to.toggleFollow()
		}
	}
	return cmd
}

func (m *app) switchTo(i int) tea.Cmd {
	m.stack = []view{m.tops[i]}
	return m.show()
}

// toggleClass switches one class on or off in the kernel. A syscall in several
// classes stays counted while any of them is on.
func (m *app) toggleClass(c model.Class) {
	want := m.b.Classes() ^ c
	if err := m.b.SetClasses(want); err != nil {
		m.setStatus(true, "classes %s: %v", want, err)
		return
	}
	m.data.classes = want
	m.top().refresh(&m.data) // what the empty views say depends on it
}

// slowSteps are the slow-call thresholds the l key cycles through (0: off).
var slowSteps = []time.Duration{0, 10 * time.Millisecond, 100 * time.Millisecond, time.Second}

// nextSlow sets the next slow-call threshold: any watched call slower than it
// is sent with its arguments, whatever its class, and shows among the events.
func (m *app) nextSlow() {
	cur, next := m.b.Slow(), slowSteps[0]
	for i, d := range slowSteps {
		if d == cur {
			next = slowSteps[(i+1)%len(slowSteps)]
		}
	}
	if err := m.b.SetSlow(next); err != nil {
		m.setStatus(true, "slow calls: %v", err)
		return
	}
	if next == 0 {
		m.setStatus(false, "slow calls off")
		return
	}
	m.setStatus(false, "calls slower than %s are sent with their arguments: e in a process shows them", next)
}

// toggleDetail switches the detail events of class i on or off: its calls
// sent one by one with their arguments, while the class is counted.
func (m *app) toggleDetail(i int) {
	c, name := model.AllClasses[i], model.ClassNames[i]
	want := m.b.Detail() ^ c
	if err := m.b.SetDetail(want); err != nil {
		m.setStatus(true, "%s detail: %v", name, err)
		return
	}
	m.data.detail, m.data.classes = want, m.b.Classes()
	switch {
	case want&c == 0:
		m.setStatus(false, "%s detail off", name)
	case m.data.classes&c == 0:
		m.setStatus(false, "%s detail on, but %s is not counted: press %s to count it", name, name, classKeys[i])
	default:
		m.setStatus(false, "%s detail on: e in a process shows its calls", name)
	}
	m.top().refresh(&m.data)
}

func (m *app) filterKey(msg tea.KeyPressMsg) tea.Cmd {
	tv, ok := m.top().(*tableView)
	switch {
	case !ok:
		m.filtering = false
	case msg.String() == "esc":
		tv.setFilter("")
		m.filtering = false
	case msg.String() == "enter":
		m.filtering = false
	default:
		return m.filterInput(msg)
	}
	m.filter.Blur()
	return nil
}

// filterInput feeds the filter's input and filters as the user types.
func (m *app) filterInput(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	m.filter, cmd = m.filter.Update(msg)
	if tv, ok := m.top().(*tableView); ok {
		tv.setFilter(m.filter.Value())
	}
	return cmd
}

func (m *app) pickerKey(msg tea.KeyPressMsg) tea.Cmd {
	done, target, cmd := m.picker.key(msg)
	if done {
		m.picker = nil
	}
	if target == nil {
		return cmd
	}
	b, t := m.b, *target
	return func() tea.Msg { return attachedMsg{t, b.Attach(t)} }
}

func (m *app) pickerInput(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	m.picker.input, cmd = m.picker.input.Update(msg)
	m.picker.refilter()
	return cmd
}

func (m *app) View() tea.View {
	content, cursor := m.render()
	v := tea.NewView(content)
	v.AltScreen = true
	v.Cursor = cursor
	if m.opts.Mouse {
		v.MouseMode = tea.MouseModeCellMotion
	}
	return v
}

// render lays out what Update computed: header, body, status and help, one
// line each, exactly the terminal's height.
func (m *app) render() (string, *tea.Cursor) {
	if m.width == 0 {
		return "", nil // no size yet
	}
	if m.width < minWidth || m.height < minHeight {
		msg := fmt.Sprintf("tlmon needs a terminal of at least %d×%d;\nthis one is %d×%d.", minWidth, minHeight, m.width, m.height)
		return lipgloss.Place(m.width, m.height, lipgloss.Center, lipgloss.Center, msg), nil
	}
	bodyH := m.bodyHeight()
	var body []string
	var cursor *tea.Cursor
	switch {
	case m.picker != nil:
		body = m.picker.render(m.width, &m.theme)
		if c := m.picker.input.Cursor(); c != nil {
			c.X += 2
			c.Y = headerHeight + 1
			cursor = c
		}
	case m.showHelp:
		body = m.fullHelp()
		body = body[min(m.helpOffset, len(body)):]
		if len(body) > bodyH {
			body[bodyH-1] = m.theme.Dim.Render("  ↓ more: ↓/j, pgdn")
		}
	case m.showLosses:
		body = renderLines(lossLines(m.data.snap), 0, m.width, bodyH, &m.theme)
	default:
		body = m.top().render(&m.theme)
	}
	lines := make([]string, 0, m.height)
	lines = append(lines, m.header()...)
	lines = append(lines, body[:min(len(body), bodyH)]...)
	for range bodyH - len(body) {
		lines = append(lines, "")
	}
	status := m.statusLine()
	if m.filtering {
		if c := m.filter.Cursor(); c != nil {
			c.Y = m.height - 2
			cursor = c
		}
	}
	lines = append(lines, status, truncate(m.help.ShortHelpView(m.shortHelp()), m.width))
	return strings.Join(lines, "\n"), cursor
}

func (m *app) statusLine() string {
	th := &m.theme
	tv, isTable := m.top().(*tableView)
	overlay := m.picker != nil || m.showHelp || m.showLosses
	switch {
	case m.filtering:
		return truncate(m.filter.View(), m.width)
	case m.status != "" && m.statusErr:
		return truncate(th.Error.Render(m.status), m.width)
	case m.status != "":
		return truncate(m.status, m.width)
	case overlay:
		return ""
	case isTable && tv.filter != "":
		return truncate(fmt.Sprintf("%d of %d rows match /%s · esc clears", len(tv.shown), len(tv.rows), model.Escape(tv.filter))+m.tableState(tv), m.width)
	case isTable && tv.other != nil:
		return th.Dim.Render(truncate(fmt.Sprintf("%d rows · e: %s", len(tv.rows), tv.otherName)+m.tableState(tv), m.width))
	case isTable && tv.commands:
		return th.Dim.Render(truncate(fmt.Sprintf("%d commands · C: a row per process", len(tv.rows))+m.tableState(tv), m.width))
	case isTable:
		return th.Dim.Render(truncate(fmt.Sprintf("%d rows", len(tv.rows))+m.tableState(tv), m.width))
	}
	if dv, ok := m.top().(*detailView); ok {
		return th.Dim.Render(truncate(dv.position(), m.width))
	}
	return ""
}

// tableState says what the status line of a table adds: the row the cursor
// follows, and what E and K hide from a list of processes.
func (m *app) tableState(tv *tableView) string {
	var b strings.Builder
	if tv.follow {
		b.WriteString(" · following " + followLabel(tv.followed) + " (P stops)")
	}
	if tv.procs && m.data.hideExited {
		b.WriteString(" · exited hidden (E)")
	}
	if tv.procs && m.data.hideKernel {
		b.WriteString(" · kernel threads hidden (K)")
	}
	return b.String()
}

// followLabel names a followed row: a process by its command and PID, a
// command by its name, anything else by its first cell.
func followLabel(r row) string {
	switch {
	case r.key.proc != (model.ProcID{}) && r.comm != "":
		return model.Escape(r.comm) + " " + strconv.FormatUint(uint64(r.key.proc.PID), 10)
	case r.comm != "":
		return model.Escape(r.comm)
	case len(r.cells) > 0:
		return r.cells[0]
	}
	return ""
}

// scrollHelp moves the full help if msg is a move key, and says whether it was.
func (m *app) scrollHelp(msg tea.KeyPressMsg) bool {
	k := &m.keys
	last := max(0, len(m.fullHelp())-m.bodyHeight())
	switch {
	case key.Matches(msg, k.Up):
		m.helpOffset--
	case key.Matches(msg, k.Down):
		m.helpOffset++
	case key.Matches(msg, k.PageUp):
		m.helpOffset -= m.bodyHeight()
	case key.Matches(msg, k.PageDown):
		m.helpOffset += m.bodyHeight()
	case key.Matches(msg, k.Home):
		m.helpOffset = 0
	case key.Matches(msg, k.End):
		m.helpOffset = last
	default:
		return false
	}
	m.helpOffset = max(0, min(m.helpOffset, last))
	return true
}

// fullHelp is every key, in columns, and what the class keys mean: the class
// keys below the others, so that 80 columns hold them all.
func (m *app) fullHelp() []string {
	th := &m.theme
	groups := m.keys.FullHelp()
	classes := len(groups) - 2
	out := []string{th.Heading.Render("KEYS") + th.Dim.Render("  ↑/↓ scroll · any other key closes")}
	for _, l := range strings.Split(m.help.FullHelpView(groups[:classes]), "\n") {
		out = append(out, truncate("  "+l, m.width))
	}
	out = append(out, "", th.Heading.Render("CLASSES")+th.Dim.Render("  lowercase: count the class in the kernel (a syscall in"),
		th.Dim.Render("         several classes is counted while any of them is on);"),
		th.Dim.Render("         Shift: also send its calls in detail, strace-like events"),
		th.Dim.Render("         (e in a process, 4 Files, 5 Connections); detail needs"),
		th.Dim.Render("         the class counted. Chips: ● counted ○ not, + detail on"))
	for _, l := range strings.Split(m.help.FullHelpView(groups[classes:]), "\n") {
		out = append(out, truncate("  "+l, m.width))
	}
	return out
}

// shortHelp is the line at the bottom: e takes attach's place where it
// swaps the list shown, and esc gives way to it where it has nothing to do.
func (m *app) shortHelp() []key.Binding {
	bs := m.keys.ShortHelp()
	tv, ok := m.top().(*tableView)
	if !ok || tv.other == nil || m.picker != nil || m.showHelp || m.showLosses {
		return bs
	}
	other := m.keys.Swap
	other.SetHelp("e", tv.otherName)
	out := bs[:0]
	for _, b := range bs {
		switch {
		case b.Help().Key == m.keys.Attach.Help().Key:
			out = append(out, other)
		case b.Help().Key == m.keys.Back.Help().Key && len(m.stack) == 1 && tv.filter == "":
		default:
			out = append(out, b)
		}
	}
	return out
}
