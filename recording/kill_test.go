package recording

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// A tlmon killed with SIGKILL while recording leaves a file that reads: every
// frame whole up to the end, then io.EOF or ErrTruncated (a write cut by the
// signal), never damage. The writer is this test binary run again.
func TestAKilledWriterLeavesWholeFrames(t *testing.T) {
	if path := os.Getenv("RECORDING_KILL_ME"); path != "" {
		writeUntilKilled(path)
		return
	}
	path := filepath.Join(t.TempDir(), "killed.rec")
	cmd := exec.Command(os.Args[0], "-test.run=^TestAKilledWriterLeavesWholeFrames$")
	cmd.Env = append(os.Environ(), "RECORDING_KILL_ME="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "writing\n" {
		cmd.Process.Kill()
		t.Fatalf("the writer said %q, %v", line, err)
	}
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()

	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for ; ; n++ {
		f, err := r.Next()
		if err == io.EOF || errors.Is(err, ErrTruncated) {
			t.Logf("%d frames, then %v", n, err)
			break
		}
		if err != nil {
			t.Fatalf("after %d frames: %v", n, err)
		}
		if want := killPayload(int(f.Kind)); !bytes.Equal(f.Payload, want) {
			t.Fatalf("frame %d: %d bytes, not as written", n, len(f.Payload))
		}
	}
	if n == 0 {
		t.Fatal("no frame")
	}
}

func killPayload(i int) []byte {
	return append(realisticPayload(64<<10+i%1000), byte(i))
}

func writeUntilKilled(path string) {
	w, err := Create(path, testHeader())
	if err != nil {
		os.Exit(2)
	}
	for i := 0; ; i++ {
		if err := w.WriteFrame(uint16(i), time.Now(), killPayload(i)); err != nil {
			os.Exit(3)
		}
		if i == 0 {
			os.Stdout.WriteString("writing\n")
		}
	}
}
