package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/dla-go/dla/vision"
)

// Failure reasons, the reason label of the failure counter. Triton's reasons
// (REJECTED, CANCELED, BACKEND) keep their meaning; INVALID and TIMEOUT say
// more than Triton's OTHER.
const (
	reasonRejected = "REJECTED" // queue full: answered at once, never queued
	reasonTimeout  = "TIMEOUT"  // the deadline passed before the result
	reasonCanceled = "CANCELED" // the client went away
	reasonInvalid  = "INVALID"  // the request itself is wrong (4xx)
	reasonBackend  = "BACKEND"  // the model failed
)

// apiError is an error with the answer each protocol gives it.
type apiError struct {
	status int        // HTTP status
	code   codes.Code // gRPC code
	reason string     // failure counter label
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func newError(status int, code codes.Code, reason, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, reason: reason, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, codes.InvalidArgument, reasonInvalid, format, args...)
}

func notFound(format string, args ...any) *apiError {
	return newError(http.StatusNotFound, codes.NotFound, reasonInvalid, format, args...)
}

func tooLarge(format string, args ...any) *apiError {
	return newError(http.StatusRequestEntityTooLarge, codes.ResourceExhausted, reasonInvalid, format, args...)
}

func unsupportedMedia(format string, args ...any) *apiError {
	return newError(http.StatusUnsupportedMediaType, codes.InvalidArgument, reasonInvalid, format, args...)
}

// errQueueFull is the answer when a model's queue is full (Triton answers
// the same with 503 and gRPC UNAVAILABLE).
var errQueueFull = newError(http.StatusServiceUnavailable, codes.Unavailable, reasonRejected,
	"the model's queue is full; retry later")

// asAPIError classifies any error from serving a request.
func asAPIError(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, context.DeadlineExceeded):
		return newError(http.StatusGatewayTimeout, codes.DeadlineExceeded, reasonTimeout,
			"the request's deadline passed before it was computed")
	case errors.Is(err, context.Canceled):
		// 499 is nginx's "client closed request": nobody reads it, but the
		// request log shows what happened.
		return newError(499, codes.Canceled, reasonCanceled, "the request was canceled")
	case errors.Is(err, vision.ErrTooLarge):
		return tooLarge("%v", err)
	}
	return newError(http.StatusInternalServerError, codes.Internal, reasonBackend, "%v", err)
}

// grpcError turns err into a gRPC status error.
func grpcError(err error) error {
	ae := asAPIError(err)
	return status.Error(ae.code, ae.msg)
}
