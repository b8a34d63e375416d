package api

import (
	"fmt"
	"net/http"
)

// Error is an X-Ray error response: the code goes in the x-amzn-ErrorType
// header and in the body's __type, where the AWS SDKs and the CLI read it.
type Error struct {
	Status  int
	Code    string
	Message string
	// ResourceName is set for ResourceNotFoundException.
	ResourceName string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func invalid(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "InvalidRequestException", Message: fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, e *Error) {
	w.Header().Set("x-amzn-ErrorType", e.Code)
	body := struct {
		Type         string `json:"__type"`
		Message      string `json:"message"`
		ResourceName string `json:"ResourceName,omitempty"`
	}{e.Code, e.Message, e.ResourceName}
	writeJSON(w, e.Status, body)
}
