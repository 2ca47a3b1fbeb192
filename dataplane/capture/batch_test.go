package capture

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/probe-appliance/probe/dataplane/decode"
)

// batchLog is a BatchHandler that checks how Run brackets packets.
type batchLog struct {
	t       *testing.T
	open    bool
	inBatch int // packets in the open batch
	batches int
	packets int
	outside int // packets handled with no batch open
	cancel  func()
	cancelN int // cancel after this many packets (0: never)
}

func (b *batchLog) BeginBatch() {
	if b.open {
		b.t.Fatal("BeginBatch inside a batch")
	}
	b.open, b.inBatch = true, 0
	b.batches++
}

func (b *batchLog) EndBatch() {
	if !b.open {
		b.t.Fatal("EndBatch outside a batch")
	}
	b.open = false
}

func (b *batchLog) HandlePacket(*decode.Packet, decode.ErrKind) {
	b.packets++
	if !b.open {
		b.outside++
	} else if b.inBatch++; b.inBatch > cancelEvery {
		b.t.Fatalf("a batch of more than %d packets", cancelEvery)
	}
	if b.packets == b.cancelN {
		b.cancel()
	}
}

// fifoOf is a FIFO a goroutine writes the file at path into.
func fifoOf(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		f.Write(data)
		f.Close()
	}()
	return fifo
}

// waits hides a file's neverWaits, as a live source has none.
type waits struct{ Source }

// A file's packets are each handled inside a batch of at most cancelEvery
// packets, every batch is closed when Run returns (at the end and when
// cancelled), and a source that may wait gets no batch at all.
func TestRunBatchesFilePackets(t *testing.T) {
	const n = 3*cancelEvery + 5
	dir := t.TempDir()
	pcap, ng := filepath.Join(dir, "x.pcap"), filepath.Join(dir, "x.pcapng")
	writePcap(t, pcap, false, testRecords(t, n))
	writePcapng(t, ng, testRecords(t, n))
	for _, c := range []struct {
		name      string
		ng        bool
		fifo      bool // the file comes through a FIFO, whose reads wait for its writer
		live      bool
		cancelN   int
		wantBatch bool
	}{
		{name: "file", wantBatch: true},
		{name: "pcapng file", ng: true, wantBatch: true},
		{name: "file, cancelled", cancelN: cancelEvery + 3, wantBatch: true},
		{name: "waiting source", live: true},
		{name: "FIFO", fifo: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := pcap
			if c.ng {
				path = ng
			}
			if c.fifo {
				path = fifoOf(t, pcap)
			}
			src, err := OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b := &batchLog{t: t, cancel: cancel, cancelN: c.cancelN}
			var s Source = src
			if c.live {
				s = waits{src}
			}
			err = Run(ctx, s, b)
			switch {
			case c.cancelN > 0 && !errors.Is(err, context.Canceled), c.cancelN == 0 && err != nil:
				t.Fatalf("Run = %v", err)
			case b.open:
				t.Fatal("a batch left open")
			case c.wantBatch && (b.outside > 0 || b.batches < (b.packets+cancelEvery-1)/cancelEvery):
				t.Fatalf("%d packets, %d outside a batch, %d batches", b.packets, b.outside, b.batches)
			case !c.wantBatch && (b.batches > 0 || b.packets != n):
				t.Fatalf("%d batches, %d packets (want none, %d)", b.batches, b.packets, n)
			}
		})
	}
}
