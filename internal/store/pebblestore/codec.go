package pebblestore

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// codec compresses and decompresses frame values. Its encoder and decoder
// are safe for concurrent use (EncodeAll and DecodeAll keep pools of their own
// state), so one codec serves the whole store.
type codec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
	// bufs recycles decompression buffers: a frame is decoded, its records
	// copied out, and the buffer reused.
	bufs sync.Pool
}

// newCodec returns a codec compressing at level frames cut at about
// frameSize raw bytes.
func newCodec(level, frameSize int) (*codec, error) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
		// A frame is compressed alone, so a window beyond the frame buys
		// nothing; with the encoder's default (8 MiB) each of its
		// concurrent encoders keeps a 16 MiB history buffer (seen in the
		// server's heap profile under load, 2026-12-07) for frames of
		// 128 KiB. Frames written with a larger window still decode.
		zstd.WithWindowSize(encoderWindow(frameSize)),
		// No xxhash checksum per frame: Pebble checksums every block a
		// frame is stored in, so it would only cost CPU (and 4 bytes).
		// Frames written with one still decode: the decoder reads the
		// frame header's flag.
		zstd.WithEncoderCRC(false),
		// One encoder: frames are compressed by the ingest pipeline's one
		// writer goroutine, and EncodeAll hands out its encoders in turn,
		// so with one per CPU each frame found the other's tables and
		// history cold in the cache (one encoder: ~20 % less time in
		// EncodeAll in BenchmarkExportHTTP, 2026-12-07). Concurrent
		// Writes take turns for the few milliseconds a batch's frames take.
		zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("zstd encoder at level %d: %w", level, err)
	}
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderMaxMemory(maxFrameRawSize))
	if err != nil {
		_ = enc.Close()
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	return &codec{enc: enc, dec: dec}, nil
}

// encoderWindow is the zstd window for frames cut at frameSize: a power of
// two holding the frame and the document that ends it, at least 1 MiB (the
// encoder's own floor for its history buffer) and at most the 8 MiB default.
func encoderWindow(frameSize int) int {
	w := 1 << 20
	for w < 2*frameSize && w < 8<<20 {
		w <<= 1
	}
	return w
}

func (c *codec) close() {
	_ = c.enc.Close()
	c.dec.Close()
}

// appendFrame appends the frame value for an uncompressed payload.
func (c *codec) appendFrame(dst, payload []byte) []byte {
	return c.enc.EncodeAll(payload, append(dst, codecZstd))
}

// decodeFrame decodes a frame value. The frame's documents alias buf, which
// the caller hands back with release once it has copied what it needs.
func (c *codec) decodeFrame(value []byte) (f *frame, buf *[]byte, err error) {
	if len(value) == 0 {
		return nil, nil, fmt.Errorf("%w: empty value", errCorrupt)
	}
	if value[0] != codecZstd {
		return nil, nil, fmt.Errorf("%w: unknown codec %d (written by a newer version?)", errCorrupt, value[0])
	}
	buf = c.buffer()
	p, err := c.dec.DecodeAll(value[1:], (*buf)[:0])
	if err != nil {
		c.release(buf)
		return nil, nil, fmt.Errorf("%w: zstd: %v", errCorrupt, err)
	}
	*buf = p
	f, err = decodePayload(p)
	if err != nil {
		c.release(buf)
		return nil, nil, err
	}
	return f, buf, nil
}

func (c *codec) buffer() *[]byte {
	if b, ok := c.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 256<<10)
	return &b
}

func (c *codec) release(b *[]byte) {
	if cap(*b) <= 4<<20 { // keep the pool from hoarding outsized buffers
		c.bufs.Put(b)
	}
}
