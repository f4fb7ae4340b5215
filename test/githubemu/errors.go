package githubemu

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

const docsURL = "https://docs.github.com/rest"

// apiError is an error answered in GitHub's JSON shape:
// {"message": ..., "errors": [...], "documentation_url": ...}.
type apiError struct {
	status  int
	message string
	errors  []obj
	docURL  string
	header  http.Header
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s", e.status, e.message)
}

func (e *apiError) body() obj {
	b := obj{"message": e.message, "documentation_url": docsURL, "status": fmt.Sprint(e.status)}
	if e.docURL != "" {
		b["documentation_url"] = e.docURL
	}
	if len(e.errors) > 0 {
		b["errors"] = e.errors
	}
	return b
}

func errNotFound() *apiError {
	return &apiError{status: http.StatusNotFound, message: "Not Found"}
}

func errBadCredentials() *apiError {
	return &apiError{status: http.StatusUnauthorized, message: "Bad credentials"}
}

// errUnprocessable is a 422 whose message says it all ("Reference already exists").
func errUnprocessable(format string, args ...any) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, message: fmt.Sprintf(format, args...)}
}

// errValidation is GitHub's 422 "Validation Failed" with field errors.
func errValidation(errs ...obj) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, message: "Validation Failed", errors: errs}
}

// fieldError is one entry of a "Validation Failed" errors list. code is
// GitHub's: missing_field, invalid, already_exists, custom (with message).
func fieldError(resource, field, code, message string) obj {
	e := obj{"resource": resource, "code": code}
	if field != "" {
		e["field"] = field
	}
	if message != "" {
		e["message"] = message
	}
	return e
}

// injectedError is the answer FailNext asked for, with the body GitHub
// would send for that kind of failure, so go-github classifies it the same
// way (RateLimitError, AbuseRateLimitError, ErrorResponse).
func injectedError(status int, header http.Header) *apiError {
	e := &apiError{status: status, message: http.StatusText(status), header: header.Clone()}
	rateLimited := status == http.StatusForbidden || status == http.StatusTooManyRequests
	switch {
	case rateLimited && header.Get("X-RateLimit-Remaining") == "0":
		e.message = "API rate limit exceeded for installation."
		e.docURL = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits"
	case rateLimited && header.Get("Retry-After") != "":
		e.message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
		e.docURL = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
	case status >= 500:
		e.message = "Server Error"
	}
	return e
}

// requestID looks like GitHub's X-GitHub-Request-Id ("C0DE:1A2B:...").
func requestID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	h := strings.ToUpper(hex.EncodeToString(b))
	return h[0:4] + ":" + h[4:8] + ":" + h[8:14] + ":" + h[14:20]
}
