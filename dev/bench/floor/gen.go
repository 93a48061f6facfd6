package floor

// The generated floor_{x86,arm64}_bpfel.go/.o are committed so that `go run
// ./dev/bench` needs no clang (and `GOARCH=arm64 go build ./...` works).
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target amd64 floor floor.bpf.c -- -I../../../bpf/headers/x86 -I../../../bpf/headers
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target arm64 floor floor.bpf.c -- -I../../../bpf/headers/arm64 -I../../../bpf/headers
