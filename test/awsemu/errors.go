package awsemu

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is an AWS error independent of protocol: each protocol renders
// it in its own shape (awsJson: {"__type", "message"} and X-Amzn-ErrorType;
// REST-XML: <ErrorResponse><Error><Code>; rpc-v2-cbor: a CBOR map with
// __type).
type apiError struct {
	status  int
	code    string // the error shape's name, "ResourceNotFoundException"
	message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

// The errors AWS answers for requests it cannot authenticate, as JSON
// services name them and with the 400 they answer. The services that came
// from the Query protocol (Route53's restXml, CloudWatch's query-compatible
// rpc-v2-cbor) answer 403 and name them as in queryAuthCodes.
func errMissingAuth() *apiError {
	return &apiError{http.StatusBadRequest, "MissingAuthenticationTokenException", "Request is missing Authentication Token"}
}

func errIncompleteSignature(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "IncompleteSignatureException", fmt.Sprintf(format, args...)}
}

func errInvalidSignature(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidSignatureException", fmt.Sprintf(format, args...)}
}

func errUnrecognizedClient() *apiError {
	return &apiError{http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid."}
}

func errSerialization(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "SerializationException", fmt.Sprintf(format, args...)}
}

func errValidation(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "ValidationException", fmt.Sprintf(format, args...)}
}

// queryAuthCodes are the Query protocol's names for the authentication
// errors, which Route53 and CloudWatch send with status 403.
var queryAuthCodes = map[string]string{
	"MissingAuthenticationTokenException": "MissingAuthenticationToken",
	"UnrecognizedClientException":         "InvalidClientTokenId",
	"InvalidSignatureException":           "SignatureDoesNotMatch",
	"IncompleteSignatureException":        "IncompleteSignature",
}

// defaultErrorType is the error type AWS services usually send with status.
func defaultErrorType(status int) string {
	switch {
	case status == http.StatusBadRequest || status == http.StatusTooManyRequests:
		return "ThrottlingException"
	case status == http.StatusServiceUnavailable:
		return "ServiceUnavailable"
	case status >= 500:
		return "InternalFailure"
	default:
		return "ValidationException"
	}
}

// injectedMessage is the message FailNext's errors carry.
func injectedMessage(code string, status int) string {
	switch code {
	case "ThrottlingException", "Throttling", "TooManyRequestsException":
		return "Rate exceeded"
	case "ServiceUnavailable", "ServiceUnavailableException":
		return "Service is unavailable. Please try again later."
	case "InternalFailure", "InternalServerError", "InternalServerException":
		return "The request processing has failed because of an unknown error, exception or failure."
	}
	return fmt.Sprintf("awsemu: injected %d %s", status, code)
}

// writeUnrouted answers a request no protocol claimed, in the JSON shape
// (the SDK's JSON, REST-JSON and CBOR decoders fall back to the
// X-Amzn-ErrorType header, so the code reaches the caller either way).
func writeUnrouted(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.code, "message": e.message})
}
