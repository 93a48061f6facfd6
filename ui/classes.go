package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"tlmon/model"
	"tlmon/themes"
)

// classesOverlay lists the syscall classes with their keys and state (v or
// F2 opens it): a class's letter switches its counting in the kernel, the
// letter with Shift its detail events. It stays open for more; esc, q, v
// or F2 closes it.
type classesOverlay struct {
	overlayBase
	d             *data
	width, height int
}

func newClassesOverlay(d *data) *classesOverlay { return &classesOverlay{d: d} }

func (c *classesOverlay) setSize(width, height int) { c.width, c.height = width, height }

// enable turns on the class keys and the keys that close it.
func (c *classesOverlay) enable(k *KeyMap) {
	for i := range k.Classes {
		enable(&k.Classes[i], &k.Details[i])
	}
	k.Close.SetKeys(append(k.Close.Keys(), k.ClassMenu.Keys()...)...)
	k.Close.SetHelp("esc/q/"+classMenuKey, "close")
	enable(&k.Close)
}

// classToggled is a class key pressed in the classes overlay: the root,
// which has the backend, switches it.
type classToggled struct {
	i      int
	detail bool
}

func (c *classesOverlay) key(msg tea.KeyPressMsg, k *KeyMap) (bool, tea.Cmd) {
	if key.Matches(msg, k.Close) {
		return true, nil
	}
	for i := range k.Classes {
		if key.Matches(msg, k.Classes[i]) {
			return false, func() tea.Msg { return classToggled{i: i} }
		}
		if key.Matches(msg, k.Details[i]) {
			return false, func() tea.Msg { return classToggled{i: i, detail: true} }
		}
	}
	return false, nil
}

// body lists the classes, a line each, drawn from the state as it is now:
// the classes first, so that a short terminal shows them before the notes.
func (c *classesOverlay) body(th *themes.Theme) ([]string, *tea.Cursor) {
	lines := []string{th.Heading.Render("CLASSES") + th.Dim.Render("  letter: count or not · Shift+letter: detail · esc, q or "+classMenuKey+" closes")}
	compact := c.height < 1+len(model.AllClasses) // two classes a line, as the chips
	half := (len(model.AllClasses) + 1) / 2
	for i, cl := range model.AllClasses {
		counted, detail, mark := "○ not counted", "", "○"
		if c.d.classes&cl != 0 {
			counted, mark = "● counted", "●"
		}
		sep := ":"
		if c.d.detail&cl != 0 {
			detail, sep = "+ detail", "+"
		}
		keys := classKeys[i] + "/" + strings.ToUpper(classKeys[i])
		switch {
		case !compact:
			lines = append(lines, fmt.Sprintf("  %s  %-8s %-13s %-8s  %s", keys, model.ClassNames[i], counted, detail, classExamples[i]))
		case i < half:
			lines = append(lines, fmt.Sprintf("  %s  %-14s", keys, mark+sep+model.ClassNames[i]))
		default:
			lines[1+i-half] += fmt.Sprintf("  %s  %s", keys, mark+sep+model.ClassNames[i])
		}
	}
	lines = append(lines, "",
		th.Dim.Render("  Counting is in the kernel: a syscall in several classes is counted while"),
		th.Dim.Render("  any of them is on. Detail sends each call of the class with its arguments,"),
		th.Dim.Render("  strace-like (e in a process, 4 Files, 5 Connections), while it is counted."),
		th.Dim.Render("  The header's chips say the same: ●f+file counted with detail, ○ not counted."))
	for i := range lines {
		lines[i] = truncate(lines[i], c.width)
	}
	return lines[:min(len(lines), max(0, c.height))], nil
}

// classExamples are a few syscalls of each class, in model.AllClasses order.
var classExamples = []string{
	"open, stat, unlink, execve",
	"read, write, close, poll",
	"socket, connect, sendto",
	"clone, execve, exit, wait4",
	"mmap, mprotect, brk",
	"kill, rt_sigaction",
	"msgget, semop, shmat",
	"clock_gettime, nanosleep",
	"setuid, getuid, capget",
	"in no class above",
}
