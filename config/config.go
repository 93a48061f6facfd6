// Package config reads tlmon's config file: every command-line flag by its
// long name, the monitor's choices per view ([monitor.views.NAME]: the
// columns shown and the sort) and highlight rules ([[highlight]]). Flags
// given on the command line win over the file. It knows nothing of what a
// flag means: main hands it the flag set, the monitor checks its views.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/pflag"

	"tlmon/internal/sudo"
)

// File is a config file as read.
type File struct {
	Path string
	// Flags are the flags' values it sets, by flag name, as their text.
	Flags map[string]string
	// Views are the monitor's choices, by view name (processes, syscalls,
	// inflight, files, connections, tcp, commands).
	Views map[string]View
	// Highlight are the rules that colour rows, in the file's order.
	Highlight []Rule
	// text is the file, to say which line a key is on.
	text []byte
}

// View is how the monitor shows one view: the columns shown (by title, in
// the table's order; empty: as tlmon chooses) and the column it sorts by.
type View struct {
	Columns []string `toml:"columns,omitempty"`
	Sort    string   `toml:"sort,omitempty"`
	Reverse bool     `toml:"reverse,omitempty"`
}

// Rule colours the rows it matches: every field given must match (a
// syscall's name, a row's errno, a process's command, a latency of at least
// SlowerThan); Color is a colour name (red, yellow, green, blue, magenta,
// cyan) or #rrggbb.
type Rule struct {
	Syscall    string `toml:"syscall,omitempty"`
	Errno      string `toml:"errno,omitempty"`
	Comm       string `toml:"comm,omitempty"`
	SlowerThan string `toml:"slower_than,omitempty"`
	Color      string `toml:"color"`

	// Slower is SlowerThan parsed.
	Slower time.Duration `toml:"-"`
}

// Colors are the colour names a rule may give, as ANSI colour numbers.
var Colors = map[string]string{"red": "1", "green": "2", "yellow": "3", "blue": "4", "magenta": "5", "cyan": "6"}

// DefaultPath is where the config file is looked for:
// $XDG_CONFIG_HOME/tlmon/config.toml, else ~/.config/tlmon/config.toml. Under
// sudo it is the invoking user's, not root's: sudo sets HOME to root's.
func DefaultPath() string {
	if dir := os.Getenv("XDG_CONFIG_HOME"); dir != "" && os.Getenv("SUDO_UID") == "" {
		return filepath.Join(dir, "tlmon", "config.toml")
	}
	home, _ := os.UserHomeDir()
	if uid := os.Getenv("SUDO_UID"); uid != "" && os.Geteuid() == 0 {
		if u, err := user.LookupId(uid); err == nil {
			home = u.HomeDir
		}
	}
	return filepath.Join(home, ".config", "tlmon", "config.toml")
}

// notKeys are the flags a config file cannot set: they say what to do
// with the file itself, or only make sense on a command line.
var notKeys = map[string]bool{"config": true, "print-config": true, "version": true, "help": true}

// Keyed says whether flag f has a key in the config file.
func Keyed(f *pflag.Flag) bool { return !f.Hidden && !notKeys[f.Name] }

// Read reads the config file at path for the flags of fs. A missing file
// at the default path is no error (nil, nil); any other problem is one line
// naming the file, the line and the key.
func Read(path string, fs *pflag.FlagSet, mustExist bool) (*File, error) {
	text, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !mustExist {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	f := &File{Path: path, Flags: map[string]string{}, text: text}
	// A struct of every key the file may have, so that the decoder refuses
	// an unknown one and says where it is.
	var fields []reflect.StructField
	var names []string
	fs.VisitAll(func(fl *pflag.Flag) {
		if Keyed(fl) {
			fields = append(fields, reflect.StructField{Name: fmt.Sprintf("F%d", len(fields)), Type: reflect.TypeFor[any](), Tag: reflect.StructTag(`toml:"` + fl.Name + `"`)})
			names = append(names, fl.Name)
		}
	})
	fields = append(fields,
		reflect.StructField{Name: "Monitor", Type: reflect.TypeFor[struct {
			Views map[string]View `toml:"views"`
		}](), Tag: `toml:"monitor"`},
		reflect.StructField{Name: "Highlight", Type: reflect.TypeFor[[]Rule](), Tag: `toml:"highlight"`})
	v := reflect.New(reflect.StructOf(fields))
	dec := toml.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v.Interface()); err != nil {
		return nil, f.decodeError(err)
	}
	s := v.Elem()
	for i, name := range names {
		val := s.Field(i).Interface()
		if val == nil {
			continue
		}
		text, err := flagText(val)
		if err != nil {
			return nil, f.keyError(name, err)
		}
		f.Flags[name] = text
	}
	f.Views = s.FieldByName("Monitor").FieldByName("Views").Interface().(map[string]View)
	f.Highlight = s.FieldByName("Highlight").Interface().([]Rule)
	for i := range f.Highlight {
		r := &f.Highlight[i]
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("%s: [[highlight]] %d: %w", path, i+1, err)
		}
	}
	return f, nil
}

func (r *Rule) check() error {
	if r.Color == "" {
		return errors.New("color: missing (red, green, yellow, blue, magenta, cyan or #rrggbb)")
	}
	if _, ok := Colors[r.Color]; !ok && !regexp.MustCompile(`^#[0-9a-fA-F]{6}$`).MatchString(r.Color) {
		return fmt.Errorf("color %q: want red, green, yellow, blue, magenta, cyan or #rrggbb", r.Color)
	}
	if r.SlowerThan != "" {
		d, err := time.ParseDuration(r.SlowerThan)
		if err != nil || d <= 0 {
			return fmt.Errorf("slower_than %q: want a duration such as 10ms", r.SlowerThan)
		}
		r.Slower = d
	}
	if r.Syscall == "" && r.Errno == "" && r.Comm == "" && r.Slower == 0 {
		return errors.New("matches every row: give syscall, errno, comm or slower_than")
	}
	return nil
}

// Apply sets the flags the file gives and the command line did not; a value
// a flag refuses is an error naming the file's line.
func (f *File) Apply(fs *pflag.FlagSet) error {
	names := make([]string, 0, len(f.Flags))
	for name := range f.Flags {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if fs.Changed(name) {
			continue
		}
		if err := fs.Set(name, f.Flags[name]); err != nil {
			return f.keyError(name, err)
		}
	}
	return nil
}

// flagText is a TOML value as a flag's text: lists comma-separated.
func flagText(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			t, err := flagText(e)
			if err != nil {
				return "", err
			}
			parts[i] = t
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("a %T is no flag's value", v)
}

// decodeError is the decoder's error as one line with the file and line.
func (f *File) decodeError(err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) && len(strict.Errors) > 0 {
		e := strict.Errors[0]
		line, _ := e.Position()
		return fmt.Errorf("%s: line %d: unknown key %q", f.Path, line, strings.Join(e.Key(), "."))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		return fmt.Errorf("%s: line %d: %s", f.Path, line, strings.TrimPrefix(de.Error(), "toml: "))
	}
	return fmt.Errorf("%s: %w", f.Path, err)
}

// keyError says which key of the file has a bad value, and on which line.
func (f *File) keyError(name string, err error) error {
	line := 0
	re := regexp.MustCompile(`^\s*"?` + regexp.QuoteMeta(name) + `"?\s*=`)
	for i, l := range bytes.Split(f.text, []byte("\n")) {
		if re.Match(l) {
			line = i + 1
			break
		}
	}
	return fmt.Errorf("%s: line %d: %s: %v", f.Path, line, name, err)
}

// Print writes the effective config: every flag with a key, at the value
// it has now (file and command line applied), then the file's views and
// rules, as TOML a person can edit.
func Print(w *bytes.Buffer, fs *pflag.FlagSet, f *File) {
	w.WriteString("# tlmon's effective config: flags first (the command line wins over the file)\n")
	fs.VisitAll(func(fl *pflag.Flag) {
		if !Keyed(fl) {
			return
		}
		fmt.Fprintf(w, "%s = %s\n", fl.Name, tomlValue(fl))
	})
	if f == nil {
		return
	}
	names := make([]string, 0, len(f.Views))
	for n := range f.Views {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := f.Views[n]
		fmt.Fprintf(w, "\n[monitor.views.%s]\n", n)
		if len(v.Columns) > 0 {
			fmt.Fprintf(w, "columns = %s\n", quoteList(v.Columns))
		}
		if v.Sort != "" {
			fmt.Fprintf(w, "sort = %q\n", v.Sort)
		}
		if v.Reverse {
			w.WriteString("reverse = true\n")
		}
	}
	for _, r := range f.Highlight {
		w.WriteString("\n[[highlight]]\n")
		for _, kv := range [][2]string{{"syscall", r.Syscall}, {"errno", r.Errno}, {"comm", r.Comm}, {"slower_than", r.SlowerThan}, {"color", r.Color}} {
			if kv[1] != "" {
				fmt.Fprintf(w, "%s = %q\n", kv[0], kv[1])
			}
		}
	}
}

// tomlValue is a flag's value as TOML: booleans and numbers bare, lists as
// arrays, the rest quoted.
func tomlValue(fl *pflag.Flag) string {
	switch fl.Value.Type() {
	case "bool", "int", "float64", "uint32":
		return fl.Value.String()
	case "stringSlice":
		s := strings.Trim(fl.Value.String(), "[]")
		if s == "" {
			return "[]"
		}
		return quoteList(strings.Split(s, ","))
	}
	return strconv.Quote(fl.Value.String())
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// SaveView keeps view's choices in the config file at path (made if
// missing): its [monitor.views.NAME] table's keys are replaced, or the table
// is added at the end; the rest of the file, comments included, stays as it
// was. The file is written whole to a temporary file and renamed, and under
// sudo it stays (or becomes) the invoking user's.
func SaveView(path, name string, v View) error {
	text, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	lines := strings.Split(strings.TrimRight(string(text), "\n"), "\n")
	if len(text) == 0 {
		lines = nil
	}
	keys := []string{fmt.Sprintf("columns = %s", quoteList(v.Columns)), fmt.Sprintf("sort = %q", v.Sort), fmt.Sprintf("reverse = %t", v.Reverse)}
	header := regexp.MustCompile(`^\s*\[\s*monitor\.views\.` + regexp.QuoteMeta(name) + `\s*\]`)
	start := -1
	for i, l := range lines {
		if header.MatchString(l) {
			start = i
			break
		}
	}
	if start < 0 {
		if len(lines) > 0 {
			lines = append(lines, "")
		}
		lines = append(lines, "[monitor.views."+name+"]")
		lines = append(lines, keys...)
	} else {
		end := start + 1
		for end < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[end]), "[") {
			end++
		}
		var section []string
		for _, l := range lines[start+1 : end] {
			if !regexp.MustCompile(`^\s*(columns|sort|reverse)\s*=`).MatchString(l) {
				section = append(section, l)
			}
		}
		for len(section) > 0 && strings.TrimSpace(section[len(section)-1]) == "" {
			section = section[:len(section)-1]
		}
		edited := append(append([]string{}, lines[:start+1]...), keys...)
		edited = append(edited, section...)
		if end < len(lines) {
			edited = append(append(edited, ""), lines[end:]...)
		}
		lines = edited
	}
	out := []byte(strings.Join(lines, "\n") + "\n")
	var check map[string]any
	if err := toml.Unmarshal(out, &check); err != nil {
		return fmt.Errorf("%s: saving the view's columns would break the file (%v): edit [monitor.views.%s] by hand", path, err, name)
	}
	return writeFile(path, out)
}

// writeFile replaces path with data: a temporary file beside it, renamed
// over it, so that a failure leaves the old file whole.
func writeFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	sudo.GiveToUser(dir)
	tmp, err := os.CreateTemp(dir, ".config.toml-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	os.Chmod(tmp.Name(), mode)
	sudo.GiveToUser(tmp.Name())
	return os.Rename(tmp.Name(), path)
}
