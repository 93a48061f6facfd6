// Package themes holds the styles of tlmon's interactive monitor: one Theme per
// palette, built once, handed to every view. Views take their styles from a
// Theme only, so no view holds a colour of its own.
package themes

import (
	"fmt"
	"image/color"
	"slices"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// Names are the values --theme accepts. Auto picks dark or light from the
// terminal's background colour.
var Names = []string{"auto", "dark", "light", "mono"}

// Theme is every style the monitor draws with.
type Theme struct {
	Name string

	Header    lipgloss.Style // the title bar: scope, buffer, rate, interval
	ChipOn    lipgloss.Style // a class being counted
	ChipOff   lipgloss.Style // a class switched off
	TabActive lipgloss.Style // the view shown
	Tab       lipgloss.Style // the other views
	Crumb     lipgloss.Style // where a drill-down is
	Heading   lipgloss.Style // table header and section titles
	Selected  lipgloss.Style // the row under the cursor
	Dim       lipgloss.Style // exited processes, secondary text
	Warning   lipgloss.Style // lost events, PAUSED
	Error     lipgloss.Style // the status line when something failed
	Bar       lipgloss.Style // latency histogram bars
	Match     lipgloss.Style // the characters a fuzzy filter matched
	Help      help.Styles
	// Highlights colour the rows a config file's rules match, one a rule
	// (WithHighlights); none in mono.
	Highlights []lipgloss.Style
}

// WithHighlights is th with a style of each colour (an ANSI colour number
// or #rrggbb) for the rows of the config file's rules; mono draws none.
func (th Theme) WithHighlights(colors []string) Theme {
	th.Highlights = nil
	if th.Name == "mono" {
		return th
	}
	for _, c := range colors {
		th.Highlights = append(th.Highlights, lipgloss.NewStyle().Foreground(lipgloss.Color(c)))
	}
	return th
}

// Built once: a Theme is a value and lipgloss styles are immutable.
var (
	dark  = colored("dark", palette{fg: "#E4E4E4", dim: "#767676", accent: "#5FAFFF", accentFg: "#000000", selBg: "#3A3A3A", warn: "#FFAF00", err: "#FF5F5F", bar: "#5FD7AF", off: "#585858"})
	light = colored("light", palette{fg: "#1C1C1C", dim: "#8A8A8A", accent: "#005FAF", accentFg: "#FFFFFF", selBg: "#D0D0D0", warn: "#AF5F00", err: "#D70000", bar: "#008787", off: "#A8A8A8"})
	mono  = plain()
)

type palette struct {
	fg, dim, accent, accentFg, selBg, warn, err, bar, off string
}

func colored(name string, p palette) Theme {
	c := func(s string) color.Color { return lipgloss.Color(s) }
	h := help.Styles{
		ShortKey:       lipgloss.NewStyle().Foreground(c(p.accent)),
		ShortDesc:      lipgloss.NewStyle().Foreground(c(p.dim)),
		ShortSeparator: lipgloss.NewStyle().Foreground(c(p.off)),
		Ellipsis:       lipgloss.NewStyle().Foreground(c(p.off)),
		FullKey:        lipgloss.NewStyle().Foreground(c(p.accent)),
		FullDesc:       lipgloss.NewStyle().Foreground(c(p.dim)),
		FullSeparator:  lipgloss.NewStyle().Foreground(c(p.off)),
	}
	return Theme{
		Name:      name,
		Header:    lipgloss.NewStyle().Bold(true).Foreground(c(p.fg)),
		ChipOn:    lipgloss.NewStyle().Foreground(c(p.accent)).Bold(true),
		ChipOff:   lipgloss.NewStyle().Foreground(c(p.off)),
		TabActive: lipgloss.NewStyle().Foreground(c(p.accentFg)).Background(c(p.accent)).Bold(true),
		Tab:       lipgloss.NewStyle().Foreground(c(p.dim)),
		Crumb:     lipgloss.NewStyle().Foreground(c(p.accent)),
		Heading:   lipgloss.NewStyle().Bold(true).Foreground(c(p.accent)), // no underline: lipgloss styles it rune by rune
		Selected:  lipgloss.NewStyle().Background(c(p.selBg)).Foreground(c(p.fg)).Bold(true),
		Dim:       lipgloss.NewStyle().Foreground(c(p.dim)),
		Warning:   lipgloss.NewStyle().Foreground(c(p.accentFg)).Background(c(p.warn)).Bold(true),
		Error:     lipgloss.NewStyle().Foreground(c(p.err)).Bold(true),
		Bar:       lipgloss.NewStyle().Foreground(c(p.bar)),
		Match:     lipgloss.NewStyle().Foreground(c(p.warn)).Bold(true),
		Help:      h,
	}
}

// plain styles nothing: no SGR sequence at all, as NO_COLOR users and golden
// tests want. The views mark the cursor, exited processes and switched-off
// classes with characters, so nothing depends on a style to be seen.
func plain() Theme {
	s := lipgloss.NewStyle()
	return Theme{
		Name: "mono", Header: s, ChipOn: s, ChipOff: s, TabActive: s, Tab: s, Crumb: s,
		Heading: s, Selected: s, Dim: s, Warning: s, Error: s, Bar: s, Match: s,
		Help: help.Styles{ShortKey: s, ShortDesc: s, ShortSeparator: s, Ellipsis: s, FullKey: s, FullDesc: s, FullSeparator: s},
	}
}

// Pick returns the theme called name. "auto" (and "") follows the terminal:
// dark on a dark background, light otherwise. An unknown name gives dark; Check
// rejects it first.
func Pick(name string, hasDarkBG bool) Theme {
	switch name {
	case "light":
		return light
	case "mono":
		return mono
	case "auto", "":
		if !hasDarkBG {
			return light
		}
	}
	return dark
}

// Check says whether name is one of Names ("" counts as auto).
func Check(name string) error {
	if name == "" || slices.Contains(Names, name) {
		return nil
	}
	return fmt.Errorf("unknown theme %q (have %s)", name, strings.Join(Names, ", "))
}

// WithNoColor applies the NO_COLOR convention (https://no-color.org): the
// variable set to anything non-empty forces mono whatever was asked. It takes
// the variable's value rather than reading it, so that tests need no
// environment.
func WithNoColor(name, noColor string) string {
	if noColor != "" {
		return "mono"
	}
	return name
}
