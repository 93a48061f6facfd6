package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The monitor's choices a config file keeps: each top view's columns and
// sort (ViewPrefs, by view name), and rules that colour the rows they match
// (Highlight). The column chooser's s saves a view's choices back.

// ViewPrefs are a view's columns shown (by title; empty: as tlmon chooses)
// and the column it sorts by.
type ViewPrefs struct {
	Columns []string
	Sort    string
	Reverse bool
}

// Highlight colours the rows it matches: every field given must match (a
// syscall's name, an errno name, a command, a latency of at least Slower);
// Color is an ANSI colour number or #rrggbb.
type Highlight struct {
	Syscall, Errno, Comm string
	Slower               time.Duration
	Color                string
}

// prefViews are the views a config file names, by name.
func prefViews(tops [numTabs]view) map[string]*tableView {
	out := map[string]*tableView{}
	for _, v := range tops {
		tv, ok := v.(*tableView)
		if !ok {
			continue
		}
		out[viewName(tv.vid)] = tv
		if tv.twin != nil {
			out[viewName(tv.twin.vid)] = tv.twin
		}
		if tv.other != nil {
			o := tv.other(nil)
			out[viewName(o.vid)] = o
		}
	}
	return out
}

// viewName is how a config file names a top view.
func viewName(id viewID) string {
	return map[viewID]string{viewProcesses: "processes", viewCommands: "commands", viewSyscalls: "syscalls",
		viewInFlight: "inflight", viewFiles: "files", viewEndpoints: "connections", viewTCP: "tcp"}[id]
}

// CheckViews says whether prefs name views and columns the monitor has: a
// config file's mistake, said before the monitor starts.
func CheckViews(prefs map[string]ViewPrefs) error {
	views := prefViews(newTabs())
	for name, p := range prefs {
		tv := views[name]
		if tv == nil {
			names := make([]string, 0, len(views))
			for n := range views {
				names = append(names, n)
			}
			slices.Sort(names)
			return fmt.Errorf("[monitor.views.%s]: no such view (have %s)", name, strings.Join(names, ", "))
		}
		if err := tv.applyPrefs(p); err != nil {
			return fmt.Errorf("[monitor.views.%s]: %w", name, err)
		}
	}
	return nil
}

// column finds a column by its title, in any case, without a sort arrow.
func (t *table) column(title string) int {
	return slices.IndexFunc(t.cols, func(c column) bool { return strings.EqualFold(c.title, strings.TrimLeft(title, "↑↓")) })
}

// titles are the columns' titles.
func (t *table) titles() string {
	ts := make([]string, len(t.cols))
	for i, c := range t.cols {
		ts[i] = c.title
	}
	return strings.Join(ts, ", ")
}

// applyPrefs shows the columns p names (the first column always) and sorts
// by its sort column.
func (v *tableView) applyPrefs(p ViewPrefs) error {
	if len(p.Columns) > 0 {
		show := make([]bool, len(v.cols))
		show[0] = true
		for _, title := range p.Columns {
			i := v.column(title)
			if i < 0 {
				return fmt.Errorf("columns: no column %q (have %s)", title, v.titles())
			}
			show[i] = true
		}
		v.showCol = show
	}
	if p.Sort != "" {
		i := v.column(p.Sort)
		if i < 0 {
			return fmt.Errorf("sort: no column %q (have %s)", p.Sort, v.titles())
		}
		v.sortCol = i
	}
	v.reverse = p.Reverse
	return nil
}

// prefs are the view's choices now, as a config file keeps them.
func (v *tableView) prefs() ViewPrefs {
	p := ViewPrefs{Sort: v.cols[v.sortCol].title, Reverse: v.reverse}
	for i, c := range v.cols {
		if v.colShown(i) {
			p.Columns = append(p.Columns, c.title)
		}
	}
	return p
}

// highlightOf is the first rule matching a row of syscall, errno, comm and
// latency (each "" or 0 where the row has none), as its index + 1; 0: none.
func highlightOf(rules []Highlight, syscall, errno, comm string, lat time.Duration) uint8 {
	for i, r := range rules {
		if r.Syscall != "" && r.Syscall != syscall || r.Errno != "" && r.Errno != errno ||
			r.Comm != "" && r.Comm != comm || r.Slower > 0 && lat < r.Slower {
			continue
		}
		return uint8(min(i+1, 255))
	}
	return 0
}
