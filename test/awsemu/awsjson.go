package awsemu

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The awsJson 1.0 and 1.1 protocols
// (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html): every
// call is a POST to / with X-Amz-Target: <TargetPrefix>.<Operation>,
// Content-Type application/x-amz-json-1.x and the input as a JSON object;
// the output is a JSON object, timestamps as epoch seconds (a JSON number);
// errors are {"__type": <shape name>, "message": ...} with the same name in
// X-Amzn-ErrorType.

// jsonService is a service spoken in awsJson.
type jsonService struct {
	svc          *service
	targetPrefix string // "CertificateManager"
	version      string // "1.1"
	ops          map[string]jsonHandler
}

// jsonHandler serves one operation: it decodes the input from body and
// returns the output, which encoding/json marshals, or an AWS error.
type jsonHandler func(s *Server, body []byte) (any, *apiError)

// awsJSONServices are the services spoken in awsJson, each defined in its
// own file.
var awsJSONServices = []*jsonService{acmJSON}

func routeAWSJSON(r *http.Request) (*route, bool) {
	target := r.Header.Get("X-Amz-Target")
	if target == "" {
		return nil, false
	}
	prefix, op, _ := strings.Cut(target, ".")
	for _, js := range awsJSONServices {
		if js.targetPrefix != prefix {
			continue
		}
		rt := &route{svc: js.svc, op: op, fail: js.writeError}
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		h := js.ops[op]
		switch {
		case h == nil || r.Method != http.MethodPost:
			rt.reject = &apiError{http.StatusBadRequest, "UnknownOperationException", ""}
		case ct != "application/x-amz-json-1.0" && ct != "application/x-amz-json-1.1":
			rt.reject = errSerialization("awsemu: Content-Type must be application/x-amz-json-%s, not %q", js.version, ct)
		default:
			rt.serve = func(s *Server, w http.ResponseWriter, _ *http.Request, body []byte) {
				out, e := h(s, body)
				if e != nil {
					js.writeError(w, e)
					return
				}
				js.writeResult(w, out)
			}
		}
		return rt, true
	}
	return nil, false
}

func (js *jsonService) contentType() string { return "application/x-amz-json-" + js.version }

func (js *jsonService) writeResult(w http.ResponseWriter, out any) {
	b, err := json.Marshal(out)
	if err != nil {
		js.writeError(w, &apiError{http.StatusInternalServerError, "InternalFailure", "awsemu: encoding the output: " + err.Error()})
		return
	}
	w.Header().Set("Content-Type", js.contentType())
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

func (js *jsonService) writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]string{"__type": e.code}
	if e.message != "" {
		body["message"] = e.message
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", js.contentType())
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}

// decodeJSON decodes an operation's input; an empty body is an empty object.
func decodeJSON(body []byte, in any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, in); err != nil {
		return errSerialization("%v", err)
	}
	return nil
}

// epochSeconds is a timestamp as awsJson sends it: seconds since the epoch,
// as a JSON number, with milliseconds as a fraction when there are any.
type epochSeconds time.Time

// epoch is t for an output field; nil (omitted) when t is zero.
func epoch(t time.Time) *epochSeconds {
	if t.IsZero() {
		return nil
	}
	e := epochSeconds(t)
	return &e
}

func (e epochSeconds) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(time.Time(e).UnixMilli())/1000, 'f', -1, 64), nil
}
