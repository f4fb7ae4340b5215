package awsemu

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The restXml protocol
// (https://smithy.io/2.0/aws/protocols/aws-restxml-protocol.html) as Route53
// speaks it: the operation is the method and the path under the API
// version (GET /2013-04-01/hostedzone/{Id}/rrset), its input in path labels
// and the query string; the output is an XML document in the service's
// namespace, timestamps in ISO 8601; errors are
// <ErrorResponse><Error><Type>Sender</Type><Code/><Message/></Error>
// <RequestId/></ErrorResponse>.

// xmlService is a service spoken in restXml.
type xmlService struct {
	svc       *service
	prefix    string // the API version's path, "/2013-04-01/"
	namespace string // the documents' xmlns
	ops       []xmlOperation
}

// xmlOperation is one operation: its method and path, each "{Label}"
// segment binding a label.
type xmlOperation struct {
	name   string
	method string
	path   string // under prefix: "hostedzone/{Id}/rrset"
	serve  xmlHandler
}

// xmlHandler serves one operation from its path labels and the request's
// query string; it returns the output, which encoding/xml marshals, or an
// AWS error.
type xmlHandler func(s *Server, labels map[string]string, query url.Values) (any, *apiError)

// restXMLServices are the services spoken in restXml, each defined in its
// own file.
var restXMLServices = []*xmlService{route53XML}

func routeRESTXML(r *http.Request) (*route, bool) {
	for _, xs := range restXMLServices {
		rest, ok := strings.CutPrefix(r.URL.EscapedPath(), xs.prefix)
		if !ok {
			continue
		}
		rt := &route{svc: xs.svc, fail: xs.writeError}
		for _, o := range xs.ops {
			labels, ok := o.match(r.Method, rest)
			if !ok {
				continue
			}
			rt.op = o.name
			rt.serve = func(s *Server, w http.ResponseWriter, r *http.Request, _ []byte) {
				out, e := o.serve(s, labels, r.URL.Query())
				if e != nil {
					xs.writeError(w, e)
					return
				}
				xs.writeResult(w, out)
			}
			return rt, true
		}
		// No operation of the emulator's: it names none, and is not counted.
		rt.reject = &apiError{http.StatusNotFound, "UnknownOperationException",
			fmt.Sprintf("awsemu: no emulated %s operation answers %s %s", xs.svc.name, r.Method, r.URL.Path)}
		return rt, true
	}
	return nil, false
}

// match reports whether method and the escaped path under the service's
// prefix call o, with the labels' unescaped values.
func (o *xmlOperation) match(method, escapedPath string) (map[string]string, bool) {
	if method != o.method {
		return nil, false
	}
	want := strings.Split(o.path, "/")
	got := strings.Split(escapedPath, "/")
	if len(want) != len(got) {
		return nil, false
	}
	labels := map[string]string{}
	for i, w := range want {
		if name, ok := strings.CutPrefix(w, "{"); ok {
			v, err := url.PathUnescape(got[i])
			if err != nil || v == "" {
				return nil, false
			}
			labels[strings.TrimSuffix(name, "}")] = v
			continue
		}
		if got[i] != w {
			return nil, false
		}
	}
	return labels, true
}

func (xs *xmlService) writeResult(w http.ResponseWriter, out any) {
	b, err := xml.Marshal(out)
	if err != nil {
		xs.writeError(w, &apiError{http.StatusInternalServerError, "InternalFailure", "awsemu: encoding the output: " + err.Error()})
		return
	}
	b = append([]byte(xml.Header), b...)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// xmlErrorResponse is restXml's error document.
type xmlErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string
		Code    string
		Message string `xml:",omitempty"`
	}
	RequestID string `xml:"RequestId"`
}

func (xs *xmlService) writeError(w http.ResponseWriter, e *apiError) {
	status, code := e.status, e.code
	if q, ok := queryAuthCodes[code]; ok {
		status, code = http.StatusForbidden, q
	}
	doc := xmlErrorResponse{Xmlns: xs.namespace, RequestID: w.Header().Get("X-Amzn-RequestId")}
	doc.Error.Type, doc.Error.Code, doc.Error.Message = "Sender", code, e.message
	if status >= 500 {
		doc.Error.Type = "Receiver"
	}
	b, _ := xml.Marshal(doc) // a struct of strings always encodes
	b = append([]byte(xml.Header), b...)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
