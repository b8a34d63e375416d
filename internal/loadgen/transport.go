package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/counterspy/counterspy/internal/jsonenc"
)

// DaemonHeader is the header line the Go SDK puts before every document it
// sends to the daemon, spaces included.
const DaemonHeader = `{"format": "json", "version": 1}` + "\n"

// maxBatch is how many documents the daemon puts in one PutTraceSegments.
const maxBatch = 50

// transport delivers documents. It is used by one sender goroutine.
type transport interface {
	// send delivers doc, or queues it for the next flush.
	send(ctx context.Context, doc []byte) tally
	// flush delivers anything queued.
	flush(ctx context.Context) tally
	close() error
}

// tally counts what a send or flush delivered. err is the first failure.
type tally struct {
	segments, bytes, errors int64
	err                     error
}

func (t *tally) add(o tally) {
	t.segments += o.segments
	t.bytes += o.bytes
	t.errors += o.errors
	if t.err == nil {
		t.err = o.err
	}
}

// udpTransport sends one document per datagram over a connected socket,
// reusing one buffer for header and document.
type udpTransport struct {
	conn *net.UDPConn
	buf  []byte
}

func dialUDP(addr string) (*udpTransport, error) {
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("resolve udp address %q: %w", addr, err)
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, fmt.Errorf("dial udp %s: %w", addr, err)
	}
	return &udpTransport{conn: conn, buf: make([]byte, 0, len(DaemonHeader)+MaxDocSize)}, nil
}

func (u *udpTransport) send(_ context.Context, doc []byte) tally {
	u.buf = append(append(u.buf[:0], DaemonHeader...), doc...)
	if _, err := u.conn.Write(u.buf); err != nil {
		// Loopback reports a closed port on the next write (ECONNREFUSED);
		// count it and go on, as an SDK would.
		return tally{errors: 1, err: fmt.Errorf("send datagram to %s: %w", u.conn.RemoteAddr(), err)}
	}
	return tally{segments: 1, bytes: int64(len(doc))}
}

func (u *udpTransport) flush(context.Context) tally { return tally{} }
func (u *udpTransport) close() error                { return u.conn.Close() }

// apiTransport posts batches of up to 50 documents to PutTraceSegments,
// as the daemon does.
type apiTransport struct {
	client *http.Client
	url    string
	batch  [][]byte
	body   []byte
}

// apiURL accepts host:port or a base URL.
func apiURL(addr string) string {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	return strings.TrimSuffix(addr, "/") + "/TraceSegments"
}

func (a *apiTransport) send(ctx context.Context, doc []byte) tally {
	a.batch = append(a.batch, doc)
	if len(a.batch) < maxBatch {
		return tally{}
	}
	return a.flush(ctx)
}

func (a *apiTransport) flush(ctx context.Context) tally {
	if len(a.batch) == 0 {
		return tally{}
	}
	defer func() { a.batch = a.batch[:0] }()
	a.body = append(a.body[:0], `{"TraceSegmentDocuments":[`...)
	var total int64
	for k, doc := range a.batch {
		if k > 0 {
			a.body = append(a.body, ',')
		}
		a.body = jsonenc.AppendString(a.body, doc)
		total += int64(len(doc))
	}
	a.body = append(a.body, "]}"...)
	failed := tally{errors: int64(len(a.batch))}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(a.body))
	if err != nil {
		failed.err = fmt.Errorf("build PutTraceSegments request: %w", err)
		return failed
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		failed.err = fmt.Errorf("PutTraceSegments %s: %w", a.url, err)
		return failed
	}
	defer resp.Body.Close()
	payload, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		failed.err = fmt.Errorf("PutTraceSegments %s: read response: %w", a.url, err)
		return failed
	}
	if resp.StatusCode != http.StatusOK {
		failed.err = fmt.Errorf("PutTraceSegments %s: %s: %s", a.url, resp.Status, bytes.TrimSpace(payload))
		return failed
	}
	var out struct {
		UnprocessedTraceSegments []struct{ Id, ErrorCode, Message string }
	}
	if err := json.Unmarshal(payload, &out); err != nil {
		failed.err = fmt.Errorf("PutTraceSegments %s: decode response: %w", a.url, err)
		return failed
	}
	t := tally{segments: int64(len(a.batch)), bytes: total}
	for _, u := range out.UnprocessedTraceSegments {
		t.segments--
		t.errors++
		t.bytes -= int64(len(a.docWithID(u.Id)))
		if t.err == nil {
			t.err = fmt.Errorf("PutTraceSegments rejected segment %s: %s: %s", u.Id, u.ErrorCode, u.Message)
		}
	}
	return t
}

// docWithID finds the batch document an UnprocessedTraceSegments entry
// names, to take its bytes out of the count.
func (a *apiTransport) docWithID(id string) []byte {
	needle := []byte(`"id":"` + id + `"`)
	spaced := []byte(`"id": "` + id + `"`)
	for _, doc := range a.batch {
		if bytes.Contains(doc, needle) || bytes.Contains(doc, spaced) {
			return doc
		}
	}
	return nil
}

func (a *apiTransport) close() error { return nil }
