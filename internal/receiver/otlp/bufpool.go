package otlp

import (
	"bytes"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// Request bodies are read into pooled buffers and gunzipped by pooled
// readers: a body of a few hundred spans is ~100 KiB, and a fresh buffer
// per request is that much more for the collector to reclaim (zeroed, as
// every large allocation is), for every request.
var (
	bodyBuffers sync.Pool // *bytes.Buffer
	gzipReaders sync.Pool // *gzip.Reader
)

// maxPooledBody bounds the buffers kept for reuse: one outsized request must
// not pin its memory for the life of the process.
const maxPooledBody = 4 << 20

func getBodyBuffer() *bytes.Buffer {
	if b, ok := bodyBuffers.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

// putBodyBuffer hands b back for reuse: nothing may use its bytes after.
func putBodyBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBody {
		return
	}
	b.Reset()
	bodyBuffers.Put(b)
}

// getGzipReader returns a gzip reader of src, reusing one when it can.
func getGzipReader(src io.Reader) (*gzip.Reader, error) {
	if zr, ok := gzipReaders.Get().(*gzip.Reader); ok {
		if err := zr.Reset(src); err != nil {
			gzipReaders.Put(zr)
			return nil, err
		}
		return zr, nil
	}
	return gzip.NewReader(src)
}

func putGzipReader(zr *gzip.Reader) {
	_ = zr.Close() // only reports a checksum error the read already returned
	gzipReaders.Put(zr)
}
