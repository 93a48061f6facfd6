package model

import (
	"testing"
	"unicode/utf8"
)

func TestEscapeMakesHostileStringsInert(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"bash", "bash"},
		{"größe 日本", "größe 日本"},
		{"\x1b[2J", `\x1b[2J`},
		{"a\nb\tc", `a\nb\tc`},
		{"evil\u202egnp.exe", `evil\u202egnp.exe`},
		{"x\u2066y\u2069", `x\u2066y\u2069`},
		{"zero\u200bwidth\ufeff", `zero\u200bwidth\ufeff`},
		{"bad\xff\xfe", `bad\xff\xfe`},
		{"c1\u009b31m", `c1\u009b31m`},
		{`back\slash`, `back\\slash`},
		{"del\x7f", `del\x7f`},
		{`quote"d`, `quote"d`},
	} {
		got := Escape(c.in)
		if got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
		back, err := Unescape(got)
		if err != nil || back != c.in {
			t.Errorf("Unescape(%q) = %q, %v; want %q", got, back, err, c.in)
		}
	}
}

// FuzzEscape: any bytes come back from Unescape exactly, and what Escape
// writes is printable UTF-8 with no control, bidi or zero-width character.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "ls", "\x1b]0;title\a", "a\u202eb", "\xff", `\x41`, `"\"`, "日本\u200d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		if !utf8.ValidString(e) {
			t.Fatalf("Escape(%q) = %q is not UTF-8", s, e)
		}
		for _, r := range e {
			if needsEscape(r, utf8.RuneLen(r)) && r != '\\' {
				t.Fatalf("Escape(%q) = %q keeps %U", s, e, r)
			}
		}
		back, err := Unescape(e)
		if err != nil || back != s {
			t.Fatalf("Unescape(Escape(%q)) = %q, %v", s, back, err)
		}
	})
}

// FuzzParseClass: any --classes list is parsed or refused, never a panic.
func FuzzParseClass(f *testing.F) {
	for _, s := range []string{"file", "file,network", "all", "none", "FILE", ",", "bogus"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseClass(s)
	})
}
