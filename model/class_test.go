package model

import (
	"testing"
)

func TestClassStringListsNamesInBitOrder(t *testing.T) {
	tests := []struct {
		c    Class
		want string
	}{
		{0, ""},
		{ClassFile, "file"},
		{ClassDesc | ClassFile, "file,desc"},
		{ClassSignal | ClassProcess, "process,signal"},
		{ClassOther, "other"},
		{ClassCreds | 1<<12, "creds,0x1000"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Class(%#x).String() = %q, want %q", uint16(tt.c), got, tt.want)
		}
	}
	if len(AllClasses) != len(ClassNames) {
		t.Fatalf("%d classes but %d names", len(AllClasses), len(ClassNames))
	}
	for i, c := range AllClasses {
		if c != 1<<i {
			t.Errorf("AllClasses[%d] = %#x, want bit %d", i, uint16(c), i)
		}
		if c.String() != ClassNames[i] {
			t.Errorf("AllClasses[%d].String() = %q, want %q", i, c, ClassNames[i])
		}
	}
}

func TestParseClassAcceptsNamesAliasesAndLists(t *testing.T) {
	tests := []struct {
		in      string
		want    Class
		wantErr bool
	}{
		{"file", ClassFile, false},
		{"desc", ClassDesc, false},
		{"network", ClassNetwork, false},
		{"net", ClassNetwork, false},
		{"process", ClassProcess, false},
		{"proc", ClassProcess, false},
		{"memory", ClassMemory, false},
		{"mem", ClassMemory, false},
		{"signal", ClassSignal, false},
		{"ipc", ClassIPC, false},
		{"time", ClassTime, false},
		{"clock", ClassTime, false},
		{"creds", ClassCreds, false},
		{"other", ClassOther, false},
		{"%file", ClassFile, false},
		{"File", ClassFile, false},
		{"file,desc", ClassFile | ClassDesc, false},
		{"", 0, true},
		{"files", 0, true},
		{"file,", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseClass(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseClass(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	for _, c := range []Class{ClassFile | ClassDesc, ClassIPC | ClassMemory, ClassOther} {
		if got, err := ParseClass(c.String()); err != nil || got != c {
			t.Errorf("ParseClass(%q) = %q, %v; does not round-trip", c.String(), got, err)
		}
	}
}

func TestClassAllHoldsEveryClass(t *testing.T) {
	var all Class
	for _, c := range AllClasses {
		all |= c
	}
	if ClassAll != all {
		t.Errorf("ClassAll = %b, want %b", ClassAll, all)
	}
}
