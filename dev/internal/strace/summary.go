// Package strace reads the summary table of strace -c, for the tests and the
// bench that compare tlmon's counts with strace's.
package strace

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseSummary reads the table of "strace -c -U name,calls,errors":
//
//	syscall            calls    errors
//	---------------- ------- ---------
//	getppid             1000      1000
//	...
//	---------------- ------- ---------
//	total               1234      1000
//
// into calls and errors per syscall name (errors only where the table has the
// column).
func ParseSummary(data string) (calls, errors map[string]uint64, err error) {
	calls, errors = map[string]uint64{}, map[string]uint64{}
	// Only the table counts: strace may write other lines to the same file,
	// such as "PID ???( <detached ...>" for a thread it saw exiting mid-call.
	inTable, rows := false, 0
	for line := range strings.Lines(data) {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && f[0] == "syscall":
			inTable = true
			continue
		case len(f) > 0 && f[0] == "total":
			inTable = false
			continue
		case !inTable || len(f) < 2 || strings.HasPrefix(f[0], "---"):
			continue
		}
		if calls[f[0]], err = strconv.ParseUint(f[1], 10, 64); err != nil {
			return nil, nil, fmt.Errorf("strace summary line %q: %v", line, err)
		}
		if len(f) > 2 {
			if errors[f[0]], err = strconv.ParseUint(f[2], 10, 64); err != nil {
				return nil, nil, fmt.Errorf("strace summary line %q: %v", line, err)
			}
		}
		rows++
	}
	if rows == 0 {
		return nil, nil, fmt.Errorf("empty strace summary: %q", data)
	}
	return calls, errors, nil
}
