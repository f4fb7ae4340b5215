package awsemu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SigV4 as AWS checks it, for the Authorization-header form the SDK uses
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
// The signature is recomputed from the request as received and the
// configured secret, so a request the SDK signed for another key, region,
// service or body is refused, like AWS refuses it.

const (
	sigV4Algorithm  = "AWS4-HMAC-SHA256"
	sigV4Terminator = "aws4_request"
	amzDateFormat   = "20060102T150405Z"
)

// sigV4Auth is a parsed Authorization header.
type sigV4Auth struct {
	accessKey, date, region, service, terminator string
	signedHeaders                                []string
	signature                                    string
}

// authenticate returns nil if r is signed with the server's credentials for
// its region (or svc's global region) and svc's signing name, and otherwise
// the error AWS would answer.
func (s *Server) authenticate(r *http.Request, body []byte, svc *service) *apiError {
	signingName := svc.signingName
	header := r.Header.Get("Authorization")
	if header == "" {
		if r.URL.Query().Get("X-Amz-Signature") != "" {
			return errIncompleteSignature("awsemu: presigned (query string) requests are not supported")
		}
		return errMissingAuth()
	}
	a, e := parseAuthorization(header)
	if e != nil {
		return e
	}
	if a.accessKey != s.opts.AccessKeyID {
		return errUnrecognizedClient()
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return errIncompleteSignature("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=%s", header)
	}
	signedAt, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return errIncompleteSignature("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	if a.date != amzDate[:8] {
		return errInvalidSignature("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", a.date, amzDate[:8], amzDate)
	}
	now := s.now().UTC()
	if signedAt.Before(now.Add(-maxSkew)) {
		return errInvalidSignature("Signature expired: %s is now earlier than %s (%s - 15 min.)", amzDate, now.Add(-maxSkew).Format(amzDateFormat), now.Format(amzDateFormat))
	}
	if signedAt.After(now.Add(maxSkew)) {
		return errInvalidSignature("Signature not yet current: %s is still later than %s (%s + 15 min.)", amzDate, now.Add(maxSkew).Format(amzDateFormat), now.Format(amzDateFormat))
	}
	if a.region != s.opts.Region && (svc.globalRegion == "" || a.region != svc.globalRegion) {
		return errInvalidSignature("Credential should be scoped to a valid region, not '%s'. ", a.region)
	}
	if a.service != signingName {
		return errInvalidSignature("Credential should be scoped to correct service: '%s'. ", signingName)
	}
	if a.terminator != sigV4Terminator {
		return errInvalidSignature("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'. ", a.terminator)
	}
	if !slices.Contains(a.signedHeaders, "host") {
		return errInvalidSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}

	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		sum := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(sum[:])
	}
	canonical := canonicalRequest(r, a.signedHeaders, payloadHash)
	scope := strings.Join([]string{a.date, a.region, a.service, sigV4Terminator}, "/")
	canonicalSum := sha256.Sum256([]byte(canonical))
	stringToSign := strings.Join([]string{sigV4Algorithm, amzDate, scope, hex.EncodeToString(canonicalSum[:])}, "\n")
	key := hmacSHA256([]byte("AWS4"+s.opts.SecretAccessKey), a.date)
	key = hmacSHA256(key, a.region)
	key = hmacSHA256(key, a.service)
	key = hmacSHA256(key, sigV4Terminator)
	want := hex.EncodeToString(hmacSHA256(key, stringToSign))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(a.signature))) {
		return errInvalidSignature("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return nil
}

// parseAuthorization parses
// "AWS4-HMAC-SHA256 Credential=AK/20260102/us-east-1/acm/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex".
func parseAuthorization(header string) (sigV4Auth, *apiError) {
	var a sigV4Auth
	algorithm, rest, _ := strings.Cut(header, " ")
	if algorithm != sigV4Algorithm {
		return a, errIncompleteSignature("Unsupported AWS 'algorithm': '%s'", algorithm)
	}
	params := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			params[k] = v
		}
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if params[k] == "" {
			return a, errIncompleteSignature("Authorization header requires '%s' parameter. Authorization=%s", k, header)
		}
	}
	cred := strings.Split(params["Credential"], "/")
	if len(cred) != 5 {
		return a, errIncompleteSignature("Credential should have 5 parts ('<access key>/<date>/<region>/<service>/aws4_request'), got '%s'", params["Credential"])
	}
	a.accessKey, a.date, a.region, a.service, a.terminator = cred[0], cred[1], cred[2], cred[3], cred[4]
	a.signedHeaders = strings.Split(params["SignedHeaders"], ";")
	a.signature = params["Signature"]
	return a, nil
}

// canonicalRequest is SigV4's canonical request for r as received.
func canonicalRequest(r *http.Request, signedHeaders []string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	// Every service but S3 encodes the already-encoded path once more.
	b.WriteString(escapePath(path))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery))
	b.WriteByte('\n')
	for _, name := range signedHeaders {
		var values []string
		switch name {
		case "host":
			values = []string{r.Host}
		case "content-length":
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		default:
			values = r.Header.Values(name)
		}
		for i, v := range values {
			values[i] = collapseSpaces(v)
		}
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(strings.Join(values, ","))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// canonicalQuery encodes each name and value (RFC 3986, space as %20), then
// sorts the pairs: SigV4 sorts after encoding.
func canonicalQuery(raw string) string {
	q, _ := url.ParseQuery(raw)
	var pairs [][2]string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, [2]string{uriEncode(k), uriEncode(v)})
		}
	}
	slices.SortFunc(pairs, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p[0] + "=" + p[1]
	}
	return strings.Join(out, "&")
}

func uriEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// escapePath percent-encodes every byte of p but RFC 3986's unreserved
// characters and '/'.
func escapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%")
		b.WriteString(strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}

// collapseSpaces trims spaces at both ends of v and turns each run of
// spaces inside it into one, as SigV4 canonical header values require.
func collapseSpaces(v string) string {
	v = strings.Trim(v, " ")
	for strings.Contains(v, "  ") {
		v = strings.ReplaceAll(v, "  ", " ")
	}
	return v
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
