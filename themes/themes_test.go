package themes

import (
	"strings"
	"testing"
)

func TestPickFollowsTheNameAndTheBackground(t *testing.T) {
	tests := []struct {
		name   string
		darkBG bool
		want   string
	}{
		{"auto", true, "dark"},
		{"auto", false, "light"},
		{"", false, "light"},
		{"dark", false, "dark"},
		{"light", true, "light"},
		{"mono", true, "mono"},
	}
	for _, tt := range tests {
		if got := Pick(tt.name, tt.darkBG).Name; got != tt.want {
			t.Errorf("Pick(%q, %v) = %s, want %s", tt.name, tt.darkBG, got, tt.want)
		}
	}
}

func TestNoColorForcesMonoWhenSetToAnything(t *testing.T) {
	for _, v := range []string{"1", "0", "yes", " "} {
		if got := WithNoColor("dark", v); got != "mono" {
			t.Errorf("NO_COLOR=%q: got %s, want mono", v, got)
		}
	}
	if got := WithNoColor("light", ""); got != "light" {
		t.Errorf("NO_COLOR unset: got %s, want light", got)
	}
}

func TestCheckRejectsUnknownNames(t *testing.T) {
	for _, n := range append(Names, "") {
		if err := Check(n); err != nil {
			t.Errorf("Check(%q): %v", n, err)
		}
	}
	if err := Check("solarized"); err == nil {
		t.Error("Check(solarized) accepted an unknown theme")
	}
}

func TestMonoEmitsNoEscapeSequences(t *testing.T) {
	m := Pick("mono", true)
	for _, s := range []string{
		m.Header.Render("x"), m.ChipOn.Render("x"), m.Selected.Render("x"), m.Warning.Render("x"),
		m.Error.Render("x"), m.Dim.Render("x"), m.Heading.Render("x"), m.Bar.Render("x"),
		m.Help.ShortKey.Render("x"),
	} {
		if strings.ContainsRune(s, '\x1b') {
			t.Errorf("mono rendered %q", s)
		}
	}
}

func TestColourThemesDoStyle(t *testing.T) {
	for _, name := range []string{"dark", "light"} {
		if s := Pick(name, true).Warning.Render("lost"); !strings.ContainsRune(s, '\x1b') {
			t.Errorf("%s warning badge is unstyled: %q", name, s)
		}
	}
}
