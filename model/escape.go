package model

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape makes a string that came from outside tlmon (a process name, a
// command line, a path, a cgroup, anything from user memory) inert and
// unambiguous wherever it is shown or written: every view, the table, CSV and
// JSON. Printable UTF-8 is kept as it is; everything else is written with Go's
// escapes: control characters (C0, DEL, C1) as \n, \t, \x1b..., bidi controls
// and zero-width characters (Unicode's format characters) as \u202e, \u200b...,
// bytes that are not UTF-8 as \xff, and the backslash itself as \\. So no
// escape sequence reaches a terminal, no name is drawn reversed, and the exact
// bytes come back with Unescape. Strings that need nothing are returned as
// they are, without allocating.
func Escape(s string) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if needsEscape(r, n) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])>>4, 16))
			b.WriteString(strconv.FormatUint(uint64(s[i])&15, 16))
		case r == '\\':
			b.WriteString(`\\`)
		case needsEscape(r, n):
			q := strconv.QuoteRuneToASCII(r) // '\x1b', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// needsEscape says whether the rune r, n bytes long, is written escaped.
func needsEscape(r rune, n int) bool {
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7f || r == '\\'
	}
	return r == utf8.RuneError && n == 1 || !unicode.IsPrint(r) // as strconv.Quote: spaces other than ' ' too
}

// Unescape returns the bytes Escape was given.
func Unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	// Escape leaves double quotes alone; Unquote wants them escaped.
	return strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`)
}
