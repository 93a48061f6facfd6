package ui

import (
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"

	"tlmon/model"
)

// KeyMap is every key of the monitor. It is also the help's key map: a
// binding is enabled only where its key does something (key.Matches ignores
// a disabled one, and the help leaves it out), so the root model sets, after
// each message, which bindings the state the user is in enables (syncKeys).
type KeyMap struct {
	Up, Down, PageUp, PageDown, Home, End key.Binding
	// Left and Right scroll a table's columns sideways, the columns that
	// name the row staying in place: on only where there is somewhere to go.
	Left, Right key.Binding

	NextView, Processes, Syscalls, InFlight key.Binding
	Files, Connections                      key.Binding
	Drill, Back                             key.Binding

	// Search (/) moves the cursor to a row that matches, Next and Prev (n,
	// N) to the next and previous, as in less and vim; Filter (\, htop's)
	// shows only the rows that match.
	Search, Next, Prev              key.Binding
	Filter, Sort, SortReverse, Tree key.Binding
	Threads                         key.Binding
	// Group shows the Processes view one row per command; HideExited and
	// HideKernel thin out the process lists; Follow keeps the cursor on its
	// row as new snapshots move it (htop's F, but F is file detail here).
	Group, HideExited, HideKernel, Follow key.Binding
	// Swap puts the other list of a pair in place: a process's syscalls and
	// its events, the endpoints and the TCP connections.
	Swap                                                key.Binding
	Pause, Attach, Kill, Export, Columns, Clear, Losses key.Binding
	Slow                                                key.Binding
	// Earlier and Later step through the history one interval, EarlierMore
	// and LaterMore ten; Live goes back to the live picture (timeline.go).
	Earlier, Later, EarlierMore, LaterMore, Live key.Binding
	// MarkA and MarkB mark the interval shown (or a range) for a diff,
	// which Diff opens (diffview.go).
	MarkA, MarkB, Diff key.Binding
	// Slower and Faster change a recording's speed (with --replay only).
	Slower, Faster key.Binding
	// Trace sends every call of the process under the cursor in detail and
	// shows its events, as htop's s straces it; again on it, stops.
	Trace key.Binding
	// ClassMenu opens the classes overlay, where the class keys work.
	ClassMenu  key.Binding
	Help, Quit key.Binding

	// The overlays' own keys, on only while one is on top: Choose and Cancel
	// end an input (the picker: attach or not; the filter: keep it or clear
	// it), PickUp, PickDown, PickFirst and PickLast move in the picker, where
	// j, k, g and G are text,
	// and Close closes the help and the losses.
	Choose, Cancel, PickUp, PickDown, PickFirst, PickLast, Close key.Binding
	// SaveColumns keeps the column chooser's choice in the config file.
	SaveColumns key.Binding

	// Classes toggles the counting of one syscall class each, Details the
	// detail events of one class each (the same letters, shifted), in
	// model.AllClasses order: on only in the classes overlay (ClassMenu), so
	// that their letters take no key from the views (n, N, g, G).
	Classes, Details []key.Binding
}

// classKeys are the keys of model.AllClasses in the classes overlay, in
// order: file, desc, network, process (x), memory, signal (g), ipc, time
// (w), creds (r), other; shifted, they switch the class's detail. The
// header's chips show them.
var classKeys = []string{"f", "d", "n", "x", "m", "g", "i", "w", "r", "o"}

// classMenuKey opens the classes overlay (F2 too, htop's setup key): no
// class key, so that it closes the overlay too.
const classMenuKey = "v"

// DefaultKeyMap is tlmon's keys as the root model starts from them in every
// state: the global keys on, the keys of views and overlays off until the
// view or overlay on top turns them on.
func DefaultKeyMap() KeyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	off := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc), key.WithDisabled())
	}
	k := KeyMap{
		Up:       off("↑/k", "up", "up", "k"),
		Down:     off("↓/j", "down", "down", "j"),
		PageUp:   off("pgup", "page up", "pgup"),
		PageDown: off("pgdn", "page down", "pgdown"),
		Home:     off("g/home", "first", "g", "home"),
		End:      off("G/end", "last", "G", "shift+g", "end"),
		Left:     off("←", "scroll left", "left"),
		Right:    off("→", "scroll right", "right"),

		NextView:    b("tab", "next view", "tab"),
		Processes:   b("1", "processes", "1"),
		Syscalls:    b("2", "syscalls", "2"),
		InFlight:    b("3", "in flight", "3"),
		Files:       b("4", "files", "4"),
		Connections: b("5", "connections", "5"),
		Drill:       off("enter", "drill", "enter"),
		Back:        off("esc", "back", "esc", "backspace"),

		Search:      off("/ F3", "search", "/", "f3"),
		Next:        off("n", "next match", "n"),
		Prev:        off("N", "previous match", "N", "shift+n"),
		Filter:      off(`\ F4`, "filter", `\`, "f4"),
		Sort:        off("s F6", "sort by next", "s", "f6"),
		SortReverse: off("S", "reverse sort", "S", "shift+s"),
		Tree:        off("t F5", "process tree", "t", "f5"),
		Threads:     off("T", "threads", "T", "shift+t"),
		Group:       off("C", "by command", "C", "shift+c"),
		HideExited:  b("E", "hide exited", "E", "shift+e"),
		HideKernel:  b("K", "hide kthreads", "K", "shift+k"),
		Follow:      off("P", "follow the row", "P", "shift+p"),
		Swap:        off("e", "events · tcp", "e"),
		Pause:       b("p/space", "pause", "p", "space"),
		Attach:      b("a", "attach", "a"),
		Kill:        off("x F9", "signal process", "x", "f9"),
		Trace:       off("d", "trace process", "d"),
		Export:      off("w/W", "write CSV/JSON", "w", "W", "shift+w"),
		Columns:     off("o", "columns", "o"),
		Clear:       b("c", "clear", "c"),
		Losses:      b("L", "lost events", "L", "shift+l"),
		Slow:        b("l", "slow calls", "l"),
		Earlier:     off("[", "interval back", "["),
		Later:       off("]", "interval on", "]"),
		EarlierMore: off("{", "10 back", "{"),
		LaterMore:   off("}", "10 on", "}"),
		Live:        off("=", "back to live", "="),
		MarkA:       b("A", "mark A", "A", "shift+a"),
		MarkB:       b("B", "mark B", "B", "shift+b"),
		Diff:        off("D", "diff A with B", "D", "shift+d"),
		Slower:      off("-", "play slower", "-"),
		Faster:      off("+", "play faster", "+"),
		ClassMenu:   b(classMenuKey+" F2", "classes", classMenuKey, "f2"),
		Help:        b("? F1", "help", "?", "f1"),
		Quit:        b("q F10", "quit", "q", "f10", "ctrl+c"),

		Choose:   off("enter", "choose", "enter"),
		Cancel:   off("esc", "cancel", "esc"),
		PickUp:   off("↑/↓", "move", "up", "ctrl+p"),
		PickDown: off("↓", "down", "down", "ctrl+n"),
		// home and end only: g and G are text in the picker.
		PickFirst:   off("home", "first", "home"),
		PickLast:    off("end", "last", "end"),
		Close:       off("esc/q", "close", "esc", "q", "backspace"),
		SaveColumns: off("s", "save", "s"),
	}
	for i, name := range model.ClassNames {
		upper := strings.ToUpper(classKeys[i])
		k.Classes = append(k.Classes, off(classKeys[i], name, classKeys[i]))
		k.Details = append(k.Details, off(upper, name+" detail", upper, "shift+"+classKeys[i]))
	}
	return k
}

// reset makes k base again, bindings and their state, with no allocation:
// the class bindings are copied into k's own slices.
func (k *KeyMap) reset(base *KeyMap) {
	classes, details := k.Classes, k.Details
	*k = *base
	k.Classes = append(classes[:0], base.Classes...)
	k.Details = append(details[:0], base.Details...)
}

// clone is a copy of k that its changes do not reach.
func (k *KeyMap) clone() KeyMap {
	c := *k
	c.Classes, c.Details = slices.Clone(k.Classes), slices.Clone(k.Details)
	return c
}

// disableAll turns every binding off: an overlay turns its own on after.
func (k *KeyMap) disableAll() {
	for _, b := range k.all() {
		b.SetEnabled(false)
	}
}

// all is every binding of k.
func (k *KeyMap) all() []*key.Binding {
	bs := []*key.Binding{
		&k.Up, &k.Down, &k.PageUp, &k.PageDown, &k.Home, &k.End, &k.Left, &k.Right,
		&k.NextView, &k.Processes, &k.Syscalls, &k.InFlight, &k.Files, &k.Connections, &k.Drill, &k.Back,
		&k.Search, &k.Next, &k.Prev, &k.Filter, &k.Sort, &k.SortReverse, &k.Tree, &k.Threads, &k.Group, &k.HideExited, &k.HideKernel, &k.Follow,
		&k.Swap, &k.Pause, &k.Attach, &k.Kill, &k.Trace, &k.Export, &k.Columns, &k.Clear, &k.Losses, &k.Slow, &k.ClassMenu, &k.Help, &k.Quit,
		&k.Earlier, &k.Later, &k.EarlierMore, &k.LaterMore, &k.Live, &k.MarkA, &k.MarkB, &k.Diff, &k.Slower, &k.Faster,
		&k.Choose, &k.Cancel, &k.PickUp, &k.PickDown, &k.PickFirst, &k.PickLast, &k.Close, &k.SaveColumns,
	}
	for i := range k.Classes {
		bs = append(bs, &k.Classes[i])
	}
	for i := range k.Details {
		bs = append(bs, &k.Details[i])
	}
	return bs
}

// enable turns bindings on.
func enable(bs ...*key.Binding) {
	for _, b := range bs {
		b.SetEnabled(true)
	}
}

// enableMoves turns the cursor and scroll keys on.
func (k *KeyMap) enableMoves() {
	enable(&k.Up, &k.Down, &k.PageUp, &k.PageDown, &k.Home, &k.End)
}

// pressed says whether msg is one of b's keys, enabled or not: a key
// pressed where it does nothing can say where it does.
func pressed(msg interface{ String() string }, b key.Binding) bool {
	return slices.Contains(b.Keys(), msg.String())
}

// ShortHelp is the line at the bottom: the keys that work here, of those
// it has room for, by their first key only ("/", not "/ F3"). e takes
// attach's place where it swaps the list shown.
func (k *KeyMap) ShortHelp() []key.Binding {
	other := k.Attach
	if k.Swap.Enabled() {
		other = k.Swap
	}
	bs := []key.Binding{k.Choose, k.Cancel, k.SaveColumns, k.PickUp, k.Close, k.Drill, k.Back, k.Search, k.Pause, other, k.Help, k.Quit}
	for i := range bs {
		if label, _, cut := strings.Cut(bs[i].Help().Key, " "); cut {
			bs[i].SetHelp(label, bs[i].Help().Desc)
		}
	}
	return bs
}

// FullHelp is shown by ?, one column per group: moving and finding, the
// views, the tables' keys, the rest. The class keys are the classes
// overlay's, which lists them.
func (k *KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End, k.Left, k.Right, k.Search, k.Next, k.Prev, k.Filter},
		{k.NextView, k.Processes, k.Syscalls, k.InFlight, k.Files, k.Connections, k.Drill, k.Back, k.Swap},
		{k.Sort, k.SortReverse, k.Tree, k.Threads, k.Group, k.HideExited, k.HideKernel, k.Follow, k.Kill, k.Trace, k.Export, k.Columns},
		{k.Pause, k.Earlier, k.Later, k.EarlierMore, k.LaterMore, k.Live, k.MarkA, k.MarkB, k.Diff, k.Slower, k.Faster, k.Attach, k.Clear, k.Losses, k.Slow, k.ClassMenu, k.Help, k.Quit},
	}
}

// syncKeys turns on the bindings that do something in the state the user is
// in: the global ones and the view's, or, under an overlay, only the
// overlay's own (overlays have every key). esc goes back wherever there is a
// level to go back to.
func (m *app) syncKeys() {
	k := &m.keys
	k.reset(&m.base)
	if o := m.overlay(); o != nil {
		k.disableAll()
		o.enable(k)
		return
	}
	m.top().enable(k)
	m.enableTime(k)
	if len(m.stack) > 1 {
		k.Back.SetEnabled(true)
	}
	if tv, ok := m.top().(*tableView); ok {
		k.Search.SetEnabled(true)
		k.Next.SetEnabled(m.search != "" && len(tv.shown) > 0)
		k.Prev.SetEnabled(k.Next.Enabled())
	}
}

// claims says an enabled binding of k has msg's key.
func (k *KeyMap) claims(msg interface{ String() string }) bool {
	for _, b := range k.all() {
		if b.Enabled() && pressed(msg, *b) {
			return true
		}
	}
	return false
}

// hint says, for a key that does nothing here, where it does something:
// n and N after a search, the class letters in the classes overlay. false:
// it is no such key.
func (m *app) hint(msg interface{ String() string }) bool {
	k := &m.keys
	if pressed(msg, k.Next) || pressed(msg, k.Prev) {
		if m.search == "" {
			m.setStatus(false, "no search yet: / searches, then n and N go to the next and previous match (classes: %s)", classMenuKey)
		} else {
			m.setStatus(false, "n and N go to the next and previous match of /%s in a table", model.Escape(m.search))
		}
		return true
	}
	if m.hist.on() && (pressed(msg, k.Earlier) || pressed(msg, k.EarlierMore)) {
		m.setStatus(false, "this is the oldest moment kept (--history says how long)")
		return true
	}
	if pressed(msg, k.Later) || pressed(msg, k.LaterMore) || pressed(msg, k.Live) {
		m.setStatus(false, "already at the newest moment: [ and { go back")
		return true
	}
	for i := range k.Classes {
		if pressed(msg, k.Classes[i]) || pressed(msg, k.Details[i]) {
			m.setStatus(false, "the class keys are in the classes overlay: %s, then %s or %s (%s detail)",
				classMenuKey, classKeys[i], strings.ToUpper(classKeys[i]), model.ClassNames[i])
			return true
		}
	}
	return false
}
