package seccomp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"tlmon/internal/outfile"
	"tlmon/model"
)

// Check says, before a run, whether Write will be able to put a file at path:
// it creates and removes a temporary file next to it, so that a typo in the
// path does not cost a long run.
func Check(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("seccomp profile %s: is a directory", path)
	}
	if err := outfile.Replaceable(path); err != nil {
		return fmt.Errorf("seccomp profile %w", err)
	}
	f, err := createTemp(path)
	if err != nil {
		return err
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// Write puts the profile of what s saw (see Observe) at path in format
// (FormatOCI or FormatSystemd), for arch. It writes a temporary file in the
// same directory and renames it over path, so path holds either its old
// content or the whole profile, never part of one; on error nothing is left
// behind. Errors are one line naming path.
func Write(path, format string, s *model.Snapshot, arch string) (Observed, error) {
	o, err := Observe(s, arch)
	if err != nil {
		return o, err
	}
	var data []byte
	switch format {
	case FormatOCI:
		p, err := Profile(o.Names, arch)
		if err != nil {
			return o, err
		}
		if data, err = json.MarshalIndent(p, "", "  "); err != nil {
			return o, err
		}
		data = append(data, '\n')
	case FormatSystemd:
		data = []byte(Systemd(o.Names))
	default:
		return o, fmt.Errorf("--seccomp-format %w", CheckFormat(format))
	}
	return o, writeFile(path, data)
}

// writeFile writes data to path through a temporary file and a rename.
func writeFile(path string, data []byte) error {
	if err := outfile.Replaceable(path); err != nil {
		return fmt.Errorf("seccomp profile %w", err)
	}
	f, err := createTemp(path)
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644) // CreateTemp makes 0600; a profile is read by others (a daemon, systemd)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return pathError(path, err)
	}
	return nil
}

// createTemp creates the temporary file for path in its directory.
func createTemp(path string) (*os.File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, pathError(path, err)
	}
	return f, nil
}

// pathError names the user's path, not the temporary file's, in one line.
func pathError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	return fmt.Errorf("seccomp profile %s: %w", path, err)
}
