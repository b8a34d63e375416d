package api

import (
	"errors"
	"net/http"

	"github.com/counterspy/counterspy/internal/store"
)

// failure is the answer to an operation's unexpected error: 503 when the
// store cannot reach its server or backs off (store.ErrUnavailable; AWS
// SDKs retry 5xx answers), else 500.
func failure(err error) *Error {
	if errors.Is(err, store.ErrUnavailable) {
		return &Error{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailableException", Message: err.Error()}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()}
}
