package pebblestore

import (
	"bytes"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/xrayid"
)

// TestFrameWithChecksumStillReads: frames written before the encoder
// stopped adding zstd's xxhash checksum (codec byte 1, checksum flag set)
// decode with today's codec, and a damaged one is still refused.
func TestFrameWithChecksumStillReads(t *testing.T) {
	c := testCodec(t)
	id := xrayid.MustParseTraceID("1-5759e988-bd862e3fe1be46a994272793")
	doc := []byte(`{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","id":"70de5b6f19ff9a0a","name":"old"}`)
	rec := &store.Record{TraceID: id, ID: 0x70de5b6f19ff9a0a, Received: 42, Doc: doc}
	payload, _ := appendPayload(nil, []*store.Record{rec}, nil)

	old, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(true))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	value := old.EncodeAll(payload, []byte{codecZstd})
	if now := c.appendFrame(nil, payload); len(now) >= len(value) {
		t.Fatalf("a frame without checksum is %d bytes, with one %d: the encoder still writes it", len(now), len(value))
	}
	f, buf, err := c.decodeFrame(value)
	if err != nil {
		t.Fatalf("old frame: %v", err)
	}
	defer c.release(buf)
	if len(f.recs) != 1 || !bytes.Equal(f.recs[0].doc, doc) || f.recs[0].received != 42 {
		t.Fatalf("old frame decoded to %+v", f.recs)
	}

	bad := bytes.Clone(value)
	bad[len(bad)-1] ^= 0xff // the checksum itself
	if _, _, err := c.decodeFrame(bad); err == nil {
		t.Fatal("an old frame with a wrong checksum decoded")
	}
}
