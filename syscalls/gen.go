package syscalls

// syscalls_table.go is generated from golang.org/x/sys/unix's syscall numbers and
// the classes in gen/syscalls/classes.txt.

//go:generate go run ./gen/syscalls
