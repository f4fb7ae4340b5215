package awsemu

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// The Smithy RPC v2 CBOR protocol
// (https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html), as
// CloudWatch speaks it: every call is a POST to
// /service/<ServiceShape>/operation/<Operation> with Smithy-Protocol:
// rpc-v2-cbor, the input a CBOR map (Content-Type application/cbor);
// timestamps are tag 1 around epoch seconds. Answers carry Smithy-Protocol
// too; errors are a map {"__type": <shape ID>, "message": ...}. A service
// that was a Query one (awsQueryCompatible, as CloudWatch) adds
// X-Amzn-Query-Error: <Query code>;Sender (Receiver for a server fault),
// whose code the SDK reports.

// cborService is a service spoken in rpc-v2-cbor.
type cborService struct {
	svc         *service
	serviceName string // the service shape's name, "GraniteServiceVersion20100801"
	namespace   string // its shapes' namespace, "com.amazonaws.cloudwatch"
	// queryErrors, for an awsQueryCompatible service, give each modeled
	// error shape's Query code; nil for one that is not.
	queryErrors map[string]string
	ops         map[string]cborHandler
}

// cborHandler serves one operation: it decodes the input from body and
// returns the output, which cborEnc marshals, or an AWS error.
type cborHandler func(s *Server, body []byte) (any, *apiError)

// cborServices are the services spoken in rpc-v2-cbor, each defined in its
// own file.
var cborServices = []*cborService{cloudwatchCBOR}

func routeRPCv2CBOR(r *http.Request) (*route, bool) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/service/")
	if !ok {
		return nil, false
	}
	name, op, ok := strings.Cut(rest, "/operation/")
	if !ok || op == "" || strings.Contains(op, "/") {
		return nil, false
	}
	for _, cs := range cborServices {
		if cs.serviceName != name {
			continue
		}
		rt := &route{svc: cs.svc, op: op, fail: cs.writeError}
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		h := cs.ops[op]
		switch {
		case h == nil || r.Method != http.MethodPost:
			rt.reject = &apiError{http.StatusNotFound, "UnknownOperationException", ""}
		case r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor":
			rt.reject = errSerialization("awsemu: the Smithy-Protocol header must be rpc-v2-cbor, not %q", r.Header.Get("Smithy-Protocol"))
		case r.ContentLength != 0 && ct != "application/cbor":
			rt.reject = errSerialization("awsemu: Content-Type must be application/cbor, not %q", ct)
		default:
			rt.serve = func(s *Server, w http.ResponseWriter, _ *http.Request, body []byte) {
				out, e := h(s, body)
				if e != nil {
					cs.writeError(w, e)
					return
				}
				cs.writeResult(w, out)
			}
		}
		return rt, true
	}
	return nil, false
}

// cborEnc writes definite-length maps and arrays, and float64 values as
// float64, as the SDK's decoder reads them.
var cborEnc = func() cbor.EncMode {
	em, err := cbor.EncOptions{}.EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

func (cs *cborService) writeResult(w http.ResponseWriter, out any) {
	b, err := cborEnc.Marshal(out)
	if err != nil {
		cs.writeError(w, &apiError{http.StatusInternalServerError, "InternalFailure", "awsemu: encoding the output: " + err.Error()})
		return
	}
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// writeError renders e. A modeled error, named by its shape or (for a
// query-compatible service) its Query code, gets its shape ID as __type;
// an authentication error coral's, with the Query protocol's 403 and name.
func (cs *cborService) writeError(w http.ResponseWriter, e *apiError) {
	status, typ, code := e.status, e.code, e.code
	if q, ok := queryAuthCodes[e.code]; ok && cs.queryErrors != nil {
		status, typ, code = http.StatusForbidden, "com.amazon.coral.service#"+e.code, q
	} else if shape, q, ok := cs.modeledError(e.code); ok {
		typ, code = cs.namespace+"#"+shape, q
	}
	body := map[string]string{"__type": typ}
	if e.message != "" {
		body["message"] = e.message
	}
	b, _ := cborEnc.Marshal(body) // a map of strings always encodes
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	if cs.queryErrors != nil {
		fault := "Sender"
		if status >= 500 {
			fault = "Receiver"
		}
		w.Header().Set("X-Amzn-Query-Error", code+";"+fault)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// modeledError finds the error shape code names, by shape name or Query
// code, and returns the shape and its Query code.
func (cs *cborService) modeledError(code string) (shape, query string, ok bool) {
	if q, ok := cs.queryErrors[code]; ok {
		return code, q, true
	}
	for shape, q := range cs.queryErrors {
		if q == code { // only ResourceNotFound is two shapes' code, and one's name
			return shape, q, true
		}
	}
	return "", "", false
}

// decodeCBOR decodes an operation's input; an empty body is an empty map.
func decodeCBOR(body []byte, in any) *apiError {
	if len(body) == 0 {
		return nil
	}
	if err := cbor.Unmarshal(body, in); err != nil {
		return errSerialization("awsemu: decoding the CBOR input: %v", err)
	}
	return nil
}

// cborTime is a timestamp as rpc-v2-cbor sends it: tag 1 around epoch
// seconds as a float64, milliseconds as its fraction.
type cborTime time.Time

func (t cborTime) MarshalCBOR() ([]byte, error) {
	return cborEnc.Marshal(cbor.Tag{Number: 1, Content: float64(time.Time(t).UnixMilli()) / 1e3})
}
