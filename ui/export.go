package ui

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"tlmon/internal/sudo"
)

// export writes the rows a table view shows (filtered, in its order, every
// column, cells whole) to a file of the current directory, else of the
// temporary one: CSV, or JSON (an object per row, by column title). Under
// sudo the file is the invoking user's. It returns the file's path.
func (v *tableView) export(asJSON bool, now time.Time) (string, error) {
	ext := "csv"
	if asJSON {
		ext = "json"
	}
	name := fmt.Sprintf("tlmon-%s-%s.%s", strings.ReplaceAll(strings.ToLower(v.name), " ", "-"), now.Format("20060102-150405"), ext)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		f, err = os.OpenFile(filepath.Join(os.TempDir(), name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	}
	if err != nil {
		return "", err
	}
	titles := make([]string, len(v.cols))
	for i, c := range v.cols {
		titles[i] = strings.TrimLeft(c.title, "↑↓")
	}
	if asJSON {
		err = v.writeJSON(f, titles)
	} else {
		err = v.writeCSV(f, titles)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	sudo.GiveToUser(f.Name())
	return f.Name(), nil
}

func (v *tableView) writeCSV(f *os.File, titles []string) error {
	w := csv.NewWriter(f)
	w.Write(titles)
	for _, i := range v.shown {
		w.Write(v.rows[i].cells)
	}
	w.Flush()
	return w.Error()
}

func (v *tableView) writeJSON(f *os.File, titles []string) error {
	out := make([]map[string]string, 0, len(v.shown))
	for _, i := range v.shown {
		obj := make(map[string]string, len(titles))
		for c, t := range titles {
			obj[t] = v.rows[i].cells[c]
		}
		out = append(out, obj)
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
