package ui

import (
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"

	"tlmon/model"
)

// KeyMap is every key of the monitor. It is also the help's key map.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Home, End key.Binding

	NextView, Processes, Syscalls, InFlight key.Binding
	Files, Connections                      key.Binding
	Drill, Back                             key.Binding

	Filter, Sort, SortReverse, Tree key.Binding
	Threads                         key.Binding
	// Group shows the Processes view one row per command; HideExited and
	// HideKernel thin out the process lists; Follow keeps the cursor on its
	// row as new snapshots move it (htop's F, but F is file detail here).
	Group, HideExited, HideKernel, Follow key.Binding
	// Swap puts the other list of a pair in place: a process's syscalls and
	// its events, the endpoints and the TCP connections.
	Swap                         key.Binding
	Pause, Attach, Clear, Losses key.Binding
	Slow                         key.Binding
	Help, Quit                   key.Binding

	// The overlays' own keys: Choose and Cancel
	// end an input (the picker: attach or not; the filter: keep it or clear
	// it), PickUp and PickDown move in the picker, where j and k are text,
	// and Close closes the help and the losses.
	Choose, Cancel, PickUp, PickDown, Close key.Binding

	// Classes toggles the counting of one syscall class each, Details the
	// detail events of one class each (the same letters, shifted), in
	// model.AllClasses order.
	Classes, Details []key.Binding
}

// classKeys are the keys of model.AllClasses, in order: file, desc, network,
// process (x: p is pause), memory, signal (g: s is sort), ipc, time (w: t is the
// tree), creds (r), other. Shifted, they switch the class's detail: none of
// F D N X M G I W R O is taken (S, T, L, C, E, K and P are).
var classKeys = []string{"f", "d", "n", "x", "m", "g", "i", "w", "r", "o"}

// DefaultKeyMap is tlmon's keys.
func DefaultKeyMap() KeyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	k := KeyMap{
		Up:       b("↑/k", "up", "up", "k"),
		Down:     b("↓/j", "down", "down", "j"),
		PageUp:   b("pgup", "page up", "pgup"),
		PageDown: b("pgdn", "page down", "pgdown"),
		Home:     b("home", "first", "home"),
		End:      b("end", "last", "end"),

		NextView:    b("tab", "next view", "tab"),
		Processes:   b("1", "processes", "1"),
		Syscalls:    b("2", "syscalls", "2"),
		InFlight:    b("3", "in flight", "3"),
		Files:       b("4", "files", "4"),
		Connections: b("5", "connections", "5"),
		Drill:       b("enter", "drill", "enter"),
		Back:        b("esc", "back", "esc", "backspace"),

		Filter:      b("/", "filter", "/"),
		Sort:        b("s", "next sort column", "s"),
		SortReverse: b("S", "reverse sort", "S", "shift+s"),
		Tree:        b("t", "process tree", "t"),
		Threads:     b("T", "threads", "T", "shift+t"),
		Group:       b("C", "group by command", "C", "shift+c"),
		HideExited:  b("E", "hide exited", "E", "shift+e"),
		HideKernel:  b("K", "hide kernel threads", "K", "shift+k"),
		Follow:      b("P", "follow the row", "P", "shift+p"),
		Swap:        b("e", "events · tcp", "e"),
		Pause:       b("p/space", "pause", "p", "space"),
		Attach:      b("a", "attach", "a"),
		Clear:       b("c", "clear", "c"),
		Losses:      b("L", "lost events", "L", "shift+l"),
		Slow:        b("l", "slow calls: off, 10ms, 100ms, 1s", "l"),
		Help:        b("?", "help", "?"),
		Quit:        b("q", "quit", "q", "ctrl+c"),

		Choose:   b("enter", "choose", "enter"),
		Cancel:   b("esc", "cancel", "esc"),
		PickUp:   b("↑/↓", "move", "up", "ctrl+p"),
		PickDown: b("↓", "down", "down", "ctrl+n"),
		Close:    b("esc", "close", "esc", "backspace"),
	}
	for i, name := range model.ClassNames {
		upper := strings.ToUpper(classKeys[i])
		k.Classes = append(k.Classes, b(classKeys[i], name, classKeys[i]))
		k.Details = append(k.Details, b(upper, name+" detail", upper, "shift+"+classKeys[i]))
	}
	return k
}

// clone is a copy of k that its changes do not reach.
func (k *KeyMap) clone() KeyMap {
	c := *k
	c.Classes, c.Details = slices.Clone(k.Classes), slices.Clone(k.Details)
	return c
}

// ShortHelp is the line at the bottom.
func (k *KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Drill, k.Back, k.Filter, k.Pause, k.Attach, k.Help, k.Quit}
}

// FullHelp is shown by ?, one column per group; the last two groups are the
// class keys, each shown with its shifted detail key: "f/F file".
func (k *KeyMap) FullHelp() [][]key.Binding {
	classes := make([]key.Binding, len(k.Classes))
	for i, c := range k.Classes {
		classes[i] = key.NewBinding(key.WithKeys(c.Keys()...),
			key.WithHelp(c.Help().Key+"/"+k.Details[i].Help().Key, c.Help().Desc))
	}
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End, k.Drill, k.Back, k.Swap, k.Group, k.HideExited, k.HideKernel, k.Follow},
		{k.NextView, k.Processes, k.Syscalls, k.InFlight, k.Files, k.Connections, k.Filter, k.Sort, k.SortReverse, k.Tree, k.Threads},
		{k.Pause, k.Attach, k.Clear, k.Losses, k.Slow, k.Help, k.Quit},
		classes[:5],
		classes[5:],
	}
}
