package query

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"math"
	"strconv"
	"time"

	"github.com/counterspy/counterspy/internal/store"
)

// Cursor format, version 1: the bytes below, then the first 8 bytes of
// HMAC-SHA256(Options.CursorKey, those bytes), in unpadded URL-safe base64.
// Integers are big-endian.
//
//	version        1 byte (1)
//	time range     1 byte (TimeRange)
//	strategy       1 byte (Strategy)
//	value          8 bytes (float64 bits)
//	start, end     8 bytes each (Unix nanoseconds of the query's window)
//	filter         8 bytes (FNV-1a 64 of the canonical filter and lookup IDs)
//	position       8 bytes second + 16 bytes trace ID
const (
	cursorVersion = 1
	cursorBody    = 1 + 1 + 1 + 8 + 8 + 8 + 8 + 8 + 16
	cursorMAC     = 8
	cursorLen     = cursorBody + cursorMAC
)

// cursor is a decoded NextToken: the query it belongs to and the position
// reached.
type cursor struct {
	timeRange  TimeRange
	strategy   Strategy
	value      float64
	start, end int64
	filter     uint64
	pos        store.Position
}

func newCursor(q *Query, pos store.Position) cursor {
	return cursor{
		timeRange: q.TimeRange, strategy: q.Sampling.Strategy, value: q.Sampling.Value,
		start: q.Start.UnixNano(), end: q.End.UnixNano(), filter: filterHash(q), pos: pos,
	}
}

// filterHash identifies a query's filter: its canonical form (so spacing
// and keyword case do not matter) and the trace IDs of a lookup.
func filterHash(q *Query) uint64 {
	h := fnv.New64a()
	if q.Filter != nil {
		h.Write([]byte(q.Filter.String()))
	}
	for _, id := range q.TraceIDs {
		h.Write([]byte{0xff})
		h.Write(id[:])
	}
	return h.Sum64()
}

func (c cursor) encode(key []byte) string {
	b := make([]byte, 0, cursorLen)
	b = append(b, cursorVersion, byte(c.timeRange), byte(c.strategy))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(c.value))
	b = binary.BigEndian.AppendUint64(b, uint64(c.start))
	b = binary.BigEndian.AppendUint64(b, uint64(c.end))
	b = binary.BigEndian.AppendUint64(b, c.filter)
	b = binary.BigEndian.AppendUint64(b, uint64(c.pos.Sec))
	b = append(b, c.pos.TraceID[:]...)
	b = append(b, mac(key, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func mac(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return m.Sum(nil)[:cursorMAC]
}

func decodeCursor(token string, key []byte) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != cursorLen || b[0] != cursorVersion || !hmac.Equal(b[cursorBody:], mac(key, b[:cursorBody])) {
		// A token of another format version fails here too: say so, since
		// an upgrade between two pages is the likely cause.
		return c, invalidf("NextToken %s is not a token this server issued (malformed, modified, or from another version of the server); start again without it", quoteToken(token))
	}
	c.timeRange, c.strategy = TimeRange(b[1]), Strategy(b[2])
	u := func(i int) uint64 { return binary.BigEndian.Uint64(b[i:]) }
	c.value = math.Float64frombits(u(3))
	c.start, c.end, c.filter = int64(u(11)), int64(u(19)), u(27)
	c.pos.Sec = int64(u(35))
	copy(c.pos.TraceID[:], b[43:59])
	return c, nil
}

// check rejects a cursor issued for another query.
func (c cursor) check(q *Query) error {
	want := newCursor(q, c.pos)
	switch {
	case c.start != want.start || c.end != want.end:
		return invalidf("NextToken belongs to another query: its time range is [%s, %s), this request's is [%s, %s)",
			fmtTime(time.Unix(0, c.start)), fmtTime(time.Unix(0, c.end)), fmtTime(q.Start), fmtTime(q.End))
	case c.timeRange != want.timeRange:
		return invalidf("NextToken belongs to another query: its TimeRangeType is %s, this request's is %s", c.timeRange, q.TimeRange)
	case c.filter != want.filter:
		return invalidf("NextToken belongs to another query: its FilterExpression differs from this request's")
	case c.strategy != want.strategy || c.value != want.value:
		return invalidf("NextToken belongs to another query: its sampling (%s %v) differs from this request's (%s %v)",
			c.strategy, c.value, q.Sampling.Strategy, q.Sampling.Value)
	}
	return nil
}

// quoteToken shortens a token for a message.
func quoteToken(s string) string {
	const keep = 24
	if len(s) > keep {
		return strconv.Quote(s[:keep]) + "…"
	}
	return strconv.Quote(s)
}
