package awsemu

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Options configures a Server. Zero fields get the defaults noted.
type Options struct {
	// Region is the one region this endpoint serves: requests must be
	// signed for it, as AWS's regional endpoints require (or, for a global
	// service such as Route53, for the region AWS signs it in, us-east-1).
	// Default "us-east-1".
	Region string
	// AccessKeyID and SecretAccessKey are the only credentials accepted:
	// every request must carry a SigV4 signature made with them. Defaults
	// DefaultAccessKeyID and DefaultSecretAccessKey.
	AccessKeyID, SecretAccessKey string
	// AccountID owns the ARNs the emulator makes up. Default "123456789012".
	AccountID string
}

// Credentials used when Options leaves them empty.
const (
	DefaultAccessKeyID     = "AKIAAWSEMU0000000000"
	DefaultSecretAccessKey = "awsemu/secret/access/key/0000000000000000"
)

// maxSkew is how far a request's X-Amz-Date may be from the server's clock,
// as AWS allows.
const maxSkew = 15 * time.Minute

// maxBody bounds a request body; AWS's JSON services cap theirs lower.
const maxBody = 4 << 20

// Server is an in-process AWS: one loopback HTTP endpoint serving every
// emulated service, as a BaseEndpoint for the SDK's clients.
type Server struct {
	opts Options
	srv  *httptest.Server
	// now is the clock request signatures are judged by: the SDK signs with
	// the wall clock, whatever clock the code under test runs on.
	now func() time.Time

	mu       sync.Mutex
	calls    map[string]int
	failures map[string][]*apiError // by "service.Operation"
	acm      acmState
	route53  route53State
	cw       cloudwatchState
}

// New starts a Server on 127.0.0.1. Close it when done.
func New(opts Options) *Server {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccessKeyID == "" {
		opts.AccessKeyID = DefaultAccessKeyID
	}
	if opts.SecretAccessKey == "" {
		opts.SecretAccessKey = DefaultSecretAccessKey
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	s := &Server{
		opts:     opts,
		now:      time.Now,
		calls:    map[string]int{},
		failures: map[string][]*apiError{},
	}
	s.acm.init()
	s.route53.init()
	s.cw.init()
	s.srv = httptest.NewServer(s)
	return s
}

// URL is the endpoint to give the SDK as BaseEndpoint: http://127.0.0.1:PORT.
func (s *Server) URL() string { return s.srv.URL }

// Region is the region requests must be signed for.
func (s *Server) Region() string { return s.opts.Region }

// Close shuts the server down. It is safe to call more than once.
func (s *Server) Close() { s.srv.Close() }

// service is one emulated AWS service.
type service struct {
	// name prefixes operations in Calls and FailNext: "acm", "route53",
	// "cloudwatch".
	name string
	// signingName is the service in a SigV4 credential scope: "acm",
	// "route53", "monitoring" (CloudWatch).
	signingName string
	// globalRegion, for a global service, is the region AWS requires its
	// requests be signed for (us-east-1 for Route53), accepted besides the
	// server's own: the SDK signs for it when it resolves AWS's endpoint,
	// and for the client's region when given a BaseEndpoint.
	globalRegion string
	// throttling is the error type the service throttles with:
	// ThrottlingException unless set ("Throttling" for the services that
	// came from the Query protocol).
	throttling string
}

// defaultErrorType is the error type the service usually sends with status.
func (svc *service) defaultErrorType(status int) string {
	if (status == http.StatusBadRequest || status == http.StatusTooManyRequests) && svc.throttling != "" {
		return svc.throttling
	}
	return defaultErrorType(status)
}

// route is what a protocol made of a request: the operation it calls, and
// how to answer in that protocol.
type route struct {
	svc *service
	op  string // the operation's API name, "DescribeCertificate"
	// reject, when set, is the answer once the request is authenticated:
	// an unknown operation, a malformed request the protocol spotted.
	reject *apiError
	// serve answers the operation; nil when reject is set.
	serve func(s *Server, w http.ResponseWriter, r *http.Request, body []byte)
	// fail answers an error in the protocol's shape.
	fail func(w http.ResponseWriter, e *apiError)
}

func (rt *route) key() string { return rt.svc.name + "." + rt.op }

// routers are the wire protocols, each recognising its own requests; the
// first that claims a request serves it. awsJSON routes by X-Amz-Target
// (ACM), restXML by path under the API version (Route53, /2013-04-01/...),
// rpcv2CBOR by /service/<Service>/operation/<Op> (CloudWatch), each in its
// own file.
var routers = []func(r *http.Request) (*route, bool){
	routeAWSJSON,
	routeRESTXML,
	routeRPCv2CBOR,
}

// ServeHTTP is the one dispatcher: it recognises the protocol and operation,
// counts the call, checks the signature, applies FailNext, then serves.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amzn-RequestId", uuid.NewString())
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeUnrouted(w, &apiError{status: http.StatusBadRequest, code: "SerializationException", message: "reading the request body: " + err.Error()})
		return
	}
	var rt *route
	for _, match := range routers {
		if m, ok := match(r); ok {
			rt = m
			break
		}
	}
	if rt == nil {
		writeUnrouted(w, &apiError{status: http.StatusNotFound, code: "UnknownOperationException",
			message: fmt.Sprintf("awsemu: no emulated service answers %s %s", r.Method, r.URL.Path)})
		return
	}
	key := rt.key()
	if rt.op != "" { // a REST path no operation has names none
		s.mu.Lock()
		s.calls[key]++
		s.mu.Unlock()
	}

	if len(body) > maxBody {
		rt.fail(w, &apiError{status: http.StatusRequestEntityTooLarge, code: "SerializationException", message: "request body too large"})
		return
	}
	if e := s.authenticate(r, body, rt.svc); e != nil {
		rt.fail(w, e)
		return
	}
	if rt.reject != nil {
		rt.fail(w, rt.reject)
		return
	}
	s.mu.Lock()
	f := s.takeFailure(key)
	s.mu.Unlock()
	if f != nil {
		rt.fail(w, f)
		return
	}
	rt.serve(s, w, r, body)
}

// Calls returns how many requests each operation got, keyed
// "service.Operation" ("acm.DescribeCertificate": 3). Every request naming
// an operation counts, whatever its answer: retries, failures from FailNext,
// requests refused for their signature.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// ResetCalls sets every count in Calls back to zero. Pending FailNext
// failures stay.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}

// FailNext makes the next count authenticated calls of operation
// ("acm.DescribeCertificate") fail with this HTTP status and AWS error type,
// in the operation's protocol, which the SDK decodes into a smithy.APIError
// with that ErrorCode:
//   - ACM (awsJson): a JSON body {"__type": awsErrorType, "message": ...}
//     and the X-Amzn-ErrorType header;
//   - Route53 (restXml): <ErrorResponse><Error><Type>Sender</Type>
//     <Code>awsErrorType</Code>... (Receiver for 5xx);
//   - CloudWatch (rpc-v2-cbor, query-compatible): a CBOR map {"__type",
//     "message"} and X-Amzn-Query-Error: <code>;Sender (or Receiver), the
//     header's code being what the SDK reports. A CloudWatch error shape's
//     name (InvalidParameterValueException) or its Query code
//     (InvalidParameterValue) gives that modeled error, whose ErrorCode is
//     the Query code, as from CloudWatch.
//
// An empty awsErrorType picks the usual one for the status: for 400 and
// 429 ThrottlingException (ACM) or Throttling (Route53, CloudWatch);
// ServiceUnavailable for 503, InternalFailure for other 5xx. The SDK
// retries 500, 502, 503, 504 and throttling error types. Failures queue up
// behind ones already set for the operation. It panics on an operation the
// emulator does not implement, so a typo cannot pass a test by accident.
func (s *Server) FailNext(operation string, status int, awsErrorType string, count int) {
	if !slices.Contains(Operations(), operation) {
		panic(fmt.Sprintf("awsemu: FailNext: unknown operation %q (have %v)", operation, Operations()))
	}
	if count <= 0 {
		return
	}
	if awsErrorType == "" {
		name, _, _ := strings.Cut(operation, ".")
		awsErrorType = serviceNamed(name).defaultErrorType(status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range count {
		s.failures[operation] = append(s.failures[operation], &apiError{
			status: status, code: awsErrorType, message: injectedMessage(awsErrorType, status),
		})
	}
}

// takeFailure pops the next failure queued for key. s.mu is held.
func (s *Server) takeFailure(key string) *apiError {
	q := s.failures[key]
	if len(q) == 0 {
		return nil
	}
	s.failures[key] = q[1:]
	return q[0]
}

// Operations lists the operations the emulator implements, as
// "service.Operation", sorted.
func Operations() []string {
	var ops []string
	for _, js := range awsJSONServices {
		for op := range js.ops {
			ops = append(ops, js.svc.name+"."+op)
		}
	}
	for _, xs := range restXMLServices {
		for _, o := range xs.ops {
			ops = append(ops, xs.svc.name+"."+o.name)
		}
	}
	for _, cs := range cborServices {
		for op := range cs.ops {
			ops = append(ops, cs.svc.name+"."+op)
		}
	}
	slices.Sort(ops)
	return ops
}

// serviceNamed is the service whose operations Calls prefixes with name;
// nil if none.
func serviceNamed(name string) *service {
	for _, js := range awsJSONServices {
		if js.svc.name == name {
			return js.svc
		}
	}
	for _, xs := range restXMLServices {
		if xs.svc.name == name {
			return xs.svc
		}
	}
	for _, cs := range cborServices {
		if cs.svc.name == name {
			return cs.svc
		}
	}
	return nil
}
