package syscalls

import (
	"strings"
	"testing"
	"tlmon/model"
)

// FuzzParseSyscallList: any -e list is parsed or refused, never a panic, and
// what is accepted names syscalls of the table.
func FuzzParseSyscallList(f *testing.F) {
	for _, s := range []string{"getppid", "file,network", "!openat", "read,,write", "999", "%file", ""} {
		f.Add(s)
	}
	table := HostTable()
	f.Fuzz(func(t *testing.T, s string) {
		nrs, err := ParseSyscallList(table, strings.Split(s, ","))
		if err != nil {
			return
		}
		for _, nr := range nrs {
			if nr < 0 || nr >= model.MaxSyscallNr {
				t.Fatalf("%q gave syscall %d, out of range", s, nr)
			}
		}
	})
}
