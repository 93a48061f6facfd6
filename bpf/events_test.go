package bpf

import (
	"testing"
	"time"

	"tlmon/model"
)

// TestALoneRecordIsRead: the kernel wakes the reader only once the buffer is
// an eighth full, so one record alone must come through the reader's polling.
func TestALoneRecordIsRead(t *testing.T) {
	for _, buf := range []string{BufferRingbuf, BufferPerf} {
		t.Run(buf, func(t *testing.T) {
			p := loadForTest(t, Options{Buffer: buf})
			p.Detach()
			if err := p.ScopeAll(); err != nil { // injected events name pid 0
				t.Fatal(err)
			}
			r, err := p.NewLifecycleReader()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if err := p.InjectEvent(); err != nil {
				t.Fatal(err)
			}
			got := make(chan model.EventKind, 1)
			go func() {
				var e model.Event
				for {
					ok, _, err := r.Read(&e)
					if err != nil || ok {
						got <- e.Kind
						return
					}
				}
			}()
			select {
			case k := <-got:
				if k != model.EventFork {
					t.Errorf("read an event of kind %d, want a fork", k)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("the injected event was not read within 2 s")
			}
		})
	}
}
