package ui

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

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
	// Views are the columns and sort a config file gives the top views, by
	// name (CheckViews checks them); Highlight colours the rows its rules
	// match; SaveView, if set, keeps a view's choices in the config file
	// (the column chooser's s).
	Views     map[string]ViewPrefs
	Highlight []Highlight
	SaveView  func(name string, p ViewPrefs) error
}

// The least terminal the monitor draws in.
const minWidth, minHeight = 60, 12

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

// app is the root model: it owns the size, theme, keys and the snapshot
// shown, the views (a tab's view with the levels drilled into above it) and
// the overlays above them. It handles the global keys, hands the others to
// the overlay on top or, with none, to the view on top, and does what the
// view asks.
type app struct {
	b Backend
	// player is b when it plays a recording, else nil.
	player Player
	opts   Options
	base   KeyMap // every key, on as in every state
	keys   KeyMap // the keys on in this state (syncKeys)
	help   help.Model
	theme  themes.Theme
	// autoTheme follows the terminal's background colour once it answers.
	autoTheme bool

	width, height int
	now           time.Time // of the last tick

	data   data // with the classes counted and those in detail
	meta   Meta
	paused bool
	// hist is the history's moments and the one shown (timeline.go).
	hist timeline
	// marks are the windows marked A and B for a diff (diffview.go).
	marks   [2]mark
	polling bool // an InFlight call is under way
	// threadsPID is the process whose threads the kernel counts (0: none);
	// threadsPolling: a Threads call is under way.
	threadsPID     uint32
	threadsPolling bool

	// tops are the tabs' views, kept with their cursor and sort (e and C put
	// a view's twin in its place); tab is the one shown.
	tops  [numTabs]view
	tab   tab
	stack []view // stack[0] is tops[tab], drill-downs above

	// overlays are open over the view on top, the last on top: it has the
	// keys.
	overlays []overlay

	// search is the search kept for n and N (/), in any table, as in less
	// and vim: "" for none.
	search string

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
	m := &app{b: b, opts: o, base: DefaultKeyMap(), help: help.New(),
		// Dark until the terminal says otherwise: the question must not hold
		// up the first frame.
		autoTheme: themeName == "" || themeName == "auto",
		tops:      newTabs(),
	}
	m.player, _ = b.(Player)
	m.keys = m.base.clone()
	m.stack = []view{m.tops[tabProcesses]}
	views := prefViews(m.tops)
	for name, p := range o.Views {
		if tv := views[name]; tv != nil {
			tv.applyPrefs(p) // CheckViews said it applies
		}
	}
	m.data.rules, m.data.saveView = o.Highlight, o.SaveView
	m.setTheme(themes.Pick(themeName, true))
	m.data.setSnapshot(b.Snapshot())
	m.pullMoments()
	m.meta, m.data.classes, m.data.detail = b.Meta(), b.Classes(), b.Detail()
	m.data.boot = m.meta.Boot
	m.top().refresh(&m.data)
	m.syncKeys()
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
	colors := make([]string, len(m.opts.Highlight))
	for i, r := range m.opts.Highlight {
		colors[i] = r.Color
	}
	m.theme = th.WithHighlights(colors)
	th = m.theme
	m.help.Styles = th.Help
	for _, o := range m.overlays {
		o.setTheme(&m.theme)
	}
}

func (m *app) top() view { return m.stack[len(m.stack)-1] }

func (m *app) bodyHeight() int { return m.height - m.headerHeight() - 2 } // 2: status, help

// layout gives every view and overlay the room it has now.
func (m *app) layout() {
	m.help.SetWidth(m.width)
	for _, v := range m.tops {
		v.setSize(m.width, m.bodyHeight())
	}
	for _, v := range m.stack[1:] {
		v.setSize(m.width, m.bodyHeight())
	}
	for _, o := range m.overlays {
		o.setSize(m.width, m.bodyHeight())
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

// Update handles msg, then turns on the keys that work in the state it
// leaves.
func (m *app) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	m.syncKeys()
	return m, cmd
}

func (m *app) update(msg tea.Msg) tea.Cmd {
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
		m.pullMoments()
		m.pull()
		return tea.Batch(m.tick(), m.pollInFlight(), m.pollThreads())
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
			if m.top().id() == viewInFlight {
				m.top().refresh(&m.data)
			}
		}
	case targetsMsg:
		switch p := m.picker(); {
		case p == nil: // closed before the list came
		case msg.err != nil:
			m.close(p)
			m.setStatus(true, "attach: %s", errText(msg.err))
		default:
			p.setTargets(msg.list)
		}
	case signaledMsg:
		if msg.err != nil {
			m.setStatus(true, "%s to %d %s: %s", msg.name, msg.id.PID, model.Escape(msg.comm), errText(msg.err))
		} else {
			m.setStatus(false, "sent %s to %d %s", msg.name, msg.id.PID, model.Escape(msg.comm))
		}
	case attachedMsg:
		if msg.err != nil {
			m.setStatus(true, "attach to %s: %s", targetName(msg.target), errText(msg.err))
		} else {
			if msg.target.Kind == TargetAll {
				m.setStatus(false, "watching %s; the counts go on", targetName(msg.target))
			} else {
				// The backend starts the counts afresh for a process or a
				// cgroup: what they show is theirs alone.
				m.setStatus(false, "watching %s; counts and losses start now", targetName(msg.target))
			}
			m.pull()
		}
	case tea.KeyPressMsg:
		return m.onKey(msg)
	case searchedMsg:
		m.search = string(msg)
		if m.search != "" {
			m.nextMatch(1, true)
		}
	case classToggled:
		if msg.detail {
			m.toggleDetail(msg.i)
		} else {
			m.toggleClass(model.AllClasses[msg.i])
		}
	case tea.PasteMsg:
		if o := m.overlay(); o != nil {
			return o.paste(msg)
		}
	case tea.MouseWheelMsg:
		if msg.Button == tea.MouseWheelLeft || msg.Button == tea.MouseWheelRight {
			// A sideways wheel (a touchpad's, shift+wheel) scrolls a
			// table's columns, as ← and → do.
			if tv, ok := m.top().(*tableView); ok && !m.covered() {
				if msg.Button == tea.MouseWheelLeft {
					tv.scroll(-1)
				} else {
					tv.scroll(1)
				}
			}
			return nil
		}
		delta := 3
		if msg.Button == tea.MouseWheelUp {
			delta = -3
		}
		// Under an overlay that covers it the view keeps still: the wheel
		// scrolls the overlay, if it scrolls.
		if o := m.overlay(); (o == nil || !o.wheel(delta)) && !m.covered() {
			m.top().wheel(delta)
		}
	case tea.MouseClickMsg:
		if !m.covered() {
			m.top().click(msg.Y - m.headerHeight())
		}
	}
	return nil
}

// onKey gives a key to the overlay on top, or handles the global keys and
// gives the others to the view on top.
func (m *app) onKey(msg tea.KeyPressMsg) tea.Cmd {
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	if o := m.overlay(); o != nil {
		done, cmd := o.key(msg, &m.keys)
		if done {
			m.close(o)
		}
		return cmd
	}

	k := &m.keys
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Help):
		m.open(newHelp(m.keys.clone()))
	case key.Matches(msg, k.ClassMenu):
		m.open(newClassesOverlay(&m.data))
	case key.Matches(msg, k.Search):
		if tv, ok := m.top().(*tableView); ok {
			s := newSearch(tv)
			m.open(s)
			return s.input.Focus()
		}
	case key.Matches(msg, k.Next):
		m.nextMatch(1, false)
	case key.Matches(msg, k.Prev):
		m.nextMatch(-1, false)
	case key.Matches(msg, k.Losses):
		m.open(newLosses(&m.data))
	case key.Matches(msg, k.Pause):
		if m.paused { // back to the present at once
			return m.goLive()
		}
		m.paused = true
		if m.player != nil {
			m.player.SetPaused(true)
		}
	case key.Matches(msg, k.Slower):
		m.changeSpeed(0.5)
	case key.Matches(msg, k.Faster):
		m.changeSpeed(2)
	case key.Matches(msg, k.Earlier):
		return m.step(-1)
	case key.Matches(msg, k.Later):
		return m.step(1)
	case key.Matches(msg, k.EarlierMore):
		return m.step(-10)
	case key.Matches(msg, k.LaterMore):
		return m.step(10)
	case key.Matches(msg, k.Live):
		return m.goLive()
	case key.Matches(msg, k.MarkA):
		m.markWindow(0)
	case key.Matches(msg, k.MarkB):
		m.markWindow(1)
	case key.Matches(msg, k.Diff):
		return m.diffView()
	case key.Matches(msg, k.Slow):
		m.nextSlow()
	case key.Matches(msg, k.Clear):
		m.b.Clear()
		m.setStatus(false, "counters cleared")
		m.pull()
	case key.Matches(msg, k.Attach):
		m.open(newPicker(m.b, m.meta.HybridCgroups))
		return listTargets(m.b)
	case key.Matches(msg, k.Export):
		if tv, ok := m.top().(*tableView); ok {
			asJSON := msg.String() != "w"
			if path, err := tv.export(asJSON, time.Now()); err != nil {
				m.setStatus(true, "write the list: %s", errText(err))
			} else {
				m.setStatus(false, "%d rows written to %s", len(tv.shown), model.Escape(path))
			}
		}
	case key.Matches(msg, k.Kill):
		if tv, ok := m.top().(*tableView); ok {
			if id, ok := tv.selectedProc(); ok {
				comm := ""
				if p := m.data.procs[id]; p != nil {
					comm = p.Comm
				}
				m.open(newSignalOverlay(m.b, id, comm))
			}
		}
	case key.Matches(msg, k.Trace):
		if tv, ok := m.top().(*tableView); ok {
			if id, ok := tv.selectedProc(); ok {
				return m.toggleTrace(id)
			}
		}
	case key.Matches(msg, k.NextView):
		return m.switchTo((m.tab + 1) % numTabs)
	case key.Matches(msg, k.Processes):
		return m.switchTo(tabProcesses)
	case key.Matches(msg, k.Syscalls):
		return m.switchTo(tabSyscalls)
	case key.Matches(msg, k.InFlight):
		return m.switchTo(tabInFlight)
	case key.Matches(msg, k.Files):
		return m.switchTo(tabFiles)
	case key.Matches(msg, k.Connections):
		return m.switchTo(tabConnections)
	case key.Matches(msg, k.HideExited):
		m.toggleHideExited()
	case key.Matches(msg, k.HideKernel):
		m.toggleHideKernel()
	case !k.Group.Enabled() && pressed(msg, k.Group):
		m.setStatus(false, "C groups the Processes view (1) by command")
	case !k.Trace.Enabled() && pressed(msg, k.Trace):
		m.setStatus(false, "d traces a process: on its row (1, or a syscall's processes) or in its drill-down")
	case !k.claims(msg) && m.hint(msg):
	default:
		req, cmd := m.top().update(msg, k, &m.data)
		return tea.Batch(cmd, m.do(req))
	}
	return nil
}

// do does what a view asked.
func (m *app) do(r request) tea.Cmd {
	switch r.kind {
	case reqPush:
		m.stack = append(m.stack, r.view)
		return m.show()
	case reqReplace:
		if len(m.stack) == 1 {
			m.tops[m.tab] = r.view
		}
		m.stack[len(m.stack)-1] = r.view
		return m.show()
	case reqPop:
		if len(m.stack) > 1 {
			m.stack = m.stack[:len(m.stack)-1]
			return m.show()
		}
	case reqOpen:
		m.open(r.overlay)
	}
	return nil
}

func (m *app) switchTo(t tab) tea.Cmd {
	m.tab = t
	m.stack = []view{m.tops[t]}
	return m.show()
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
		return tooSmall(m.width, m.height), nil
	}
	bodyH := m.bodyHeight()
	body, cursor := m.body()
	lines := make([]string, 0, m.height)
	lines = append(lines, m.header()...)
	lines = append(lines, body[:min(len(body), bodyH)]...)
	for range bodyH - len(body) {
		lines = append(lines, "")
	}
	status, c := m.statusLine()
	if c != nil {
		c.Y = m.height - 2
		cursor = c
	}
	lines = append(lines, status, truncate(m.help.ShortHelpView(m.keys.ShortHelp()), m.width))
	return strings.Join(lines, "\n"), cursor
}

// tooSmall says the terminal is too small and the least it must be, in the
// longest words that fit in width×height, wrapped and centred; the least
// size alone, cut, where nothing else fits.
func tooSmall(width, height int) string {
	for _, msg := range []string{
		fmt.Sprintf("tlmon needs a terminal of at least %d×%d; this one is %d×%d.", minWidth, minHeight, width, height),
		fmt.Sprintf("tlmon needs %d×%d; this is %d×%d.", minWidth, minHeight, width, height),
		fmt.Sprintf("needs %d×%d", minWidth, minHeight),
	} {
		wrapped := ansi.Wordwrap(msg, width, "")
		if lines := strings.Split(wrapped, "\n"); len(lines) <= height && lipgloss.Width(wrapped) <= width {
			return lipgloss.Place(width, height, lipgloss.Center, lipgloss.Center, lipgloss.NewStyle().Align(lipgloss.Center).Render(wrapped))
		}
	}
	lines := make([]string, max(1, height))
	lines[0] = truncate(fmt.Sprintf("%d×%d", minWidth, minHeight), width)
	return lipgloss.Place(width, height, lipgloss.Left, lipgloss.Top, strings.Join(lines, "\n"))
}

// body is the top overlay's that draws in the body's place, or the view's.
func (m *app) body() ([]string, *tea.Cursor) {
	for i := len(m.overlays) - 1; i >= 0; i-- {
		if o := m.overlays[i]; o.covers() {
			lines, c := o.body(&m.theme)
			if c != nil {
				c.Y += m.headerHeight()
			}
			return lines, c
		}
	}
	return m.top().render(&m.theme), nil
}
