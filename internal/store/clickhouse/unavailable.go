package clickhouse

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"

	"github.com/counterspy/counterspy/internal/store"
)

// unreachable reports whether err says the server could not be reached or
// the connection broke (as opposed to an exception the server sent about
// the query).
func unreachable(err error) bool {
	var exc *proto.Exception
	if errors.As(err, &exc) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, ch.ErrAcquireConnTimeout)
}

// markUnavailable wraps err with store.ErrUnavailable when the server could
// not be reached.
func markUnavailable(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) || !unreachable(err) {
		return err
	}
	return fmt.Errorf("%w (%w)", err, store.ErrUnavailable)
}
