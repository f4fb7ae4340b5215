package trafficfile

import "testing"

const (
	elbHost     = "web-api-1234.us-east-1.elb.amazonaws.com"
	cutoverHost = "web-api-cutover.kprod.acme.example"
)

func nginxEdit(upstream, oldHost, newHost string) func([]byte) ([]byte, error) {
	return func(content []byte) ([]byte, error) {
		return SetNginxUpstream(content, upstream, oldHost, newHost)
	}
}

var nginxCases = []goldenCase{
	// Formats and unusual formatting.
	{name: "host-keeps-port-and-params", in: "upstreams.in", edit: nginxEdit("web_api", elbHost, cutoverHost)},
	{name: "old-host-with-port", in: "upstreams.in", edit: nginxEdit("web_api", elbHost+":8443", cutoverHost)},
	{name: "new-host-with-port", in: "upstreams.in", edit: nginxEdit("web_api", elbHost+":8443", cutoverHost+":9443")},
	{name: "tabs-and-spaces", in: "upstreams.in", edit: nginxEdit("web_api_canary", elbHost, cutoverHost)},
	{name: "one-line-upstream", in: "upstreams.in", edit: nginxEdit("payments", "payments-99.us-east-1.elb.amazonaws.com", "payments-cutover.kprod.acme.example")},
	{name: "case-and-trailing-dot", in: "upstreams.in", edit: nginxEdit("web_api_canary", "WEB-API-1234.us-east-1.ELB.amazonaws.com.", cutoverHost)},
	{name: "ip-address", in: "upstreams.in", edit: nginxEdit("web_api", "10.0.12.7", "10.0.12.8")},
	{name: "quoted-address-and-http-block", in: "nginx.in", edit: nginxEdit("web_api", elbHost, cutoverHost)},
	{name: "stream-upstream", in: "nginx.in", edit: nginxEdit("db", "db-5.us-east-1.rds.amazonaws.com", "db-cutover.kprod.acme.example")},
	// Setting a value to the one it has.
	{name: "same-host", in: "upstreams.in", edit: nginxEdit("web_api", elbHost, elbHost), unchanged: true},
	{name: "same-host-other-case", in: "upstreams.in", edit: nginxEdit("web_api", elbHost, "WEB-API-1234.us-east-1.elb.amazonaws.com"), unchanged: true},
	{name: "same-host-and-port", in: "upstreams.in", edit: nginxEdit("web_api", elbHost+":443", elbHost+":443"), unchanged: true},
	// Not found and ambiguous.
	{name: "no-upstream", in: "upstreams.in", edit: nginxEdit("nope", elbHost, cutoverHost), errIs: ErrNotFound,
		wantErr: `no upstream "nope" (upstreams in file: "web_api", "web_api_canary", "payments")`},
	{name: "no-server", in: "upstreams.in", edit: nginxEdit("web_api", "web-api-5678.us-east-1.elb.amazonaws.com", cutoverHost), errIs: ErrNotFound,
		wantErr: `line 2: upstream "web_api" has no server web-api-5678.us-east-1.elb.amazonaws.com (its servers: ` + elbHost + `:443, ` + elbHost + `:8443, 10.0.12.7:443)`},
	{name: "no-server-with-port", in: "upstreams.in", edit: nginxEdit("web_api", elbHost+":80", cutoverHost), errIs: ErrNotFound,
		wantErr: `line 2: upstream "web_api" has no server ` + elbHost + `:80`},
	{name: "not-a-substring", in: "upstreams.in", edit: nginxEdit("payments", "payments-99.us-east-1.elb", cutoverHost), errIs: ErrNotFound,
		wantErr: `line 16: upstream "payments" has no server payments-99.us-east-1.elb`},
	{name: "server-outside-upstream", in: "upstreams.in", edit: nginxEdit("web_api", "web-api.acme.example", cutoverHost), errIs: ErrNotFound,
		wantErr: `has no server web-api.acme.example`},
	{name: "duplicate-upstream", in: "duplicate.in", edit: nginxEdit("web_api", elbHost, cutoverHost), errIs: ErrAmbiguous,
		wantErr: `line 7: upstream "web_api" is defined 2 times (lines 2, 7)`},
	// Invalid input.
	{name: "new-host-space", in: "upstreams.in", edit: nginxEdit("web_api", elbHost, "a b.example"), errIs: ErrInvalidInput, wantErr: `new host "a b.example": contains a space`},
	{name: "new-host-semicolon", in: "upstreams.in", edit: nginxEdit("web_api", elbHost, "a.example;"), errIs: ErrInvalidInput, wantErr: `new host "a.example;": contains ';'`},
	{name: "new-host-brace", in: "upstreams.in", edit: nginxEdit("web_api", elbHost, "a.example}"), errIs: ErrInvalidInput, wantErr: `contains '}'`},
	{name: "new-host-quote", in: "upstreams.in", edit: nginxEdit("web_api", elbHost, `a.example"`), errIs: ErrInvalidInput, wantErr: `contains '"'`},
	{name: "new-host-newline", in: "upstreams.in", edit: nginxEdit("web_api", elbHost, "a.example\nserver evil"), errIs: ErrInvalidInput, wantErr: `contains a line break`},
	{name: "new-host-empty", in: "upstreams.in", edit: nginxEdit("web_api", elbHost, ""), errIs: ErrInvalidInput, wantErr: `new host is empty`},
	{name: "new-host-bad-port", in: "upstreams.in", edit: nginxEdit("web_api", elbHost, "a.example:99999"), errIs: ErrInvalidInput, wantErr: `port "99999" is not in 1..65535`},
	{name: "new-host-empty-port", in: "upstreams.in", edit: nginxEdit("web_api", elbHost, "a.example:"), errIs: ErrInvalidInput, wantErr: `empty port`},
	{name: "new-host-empty-label", in: "upstreams.in", edit: nginxEdit("web_api", elbHost, "a..example"), errIs: ErrInvalidInput, wantErr: `empty label`},
	{name: "new-host-leading-dash", in: "upstreams.in", edit: nginxEdit("web_api", elbHost, "-a.example"), errIs: ErrInvalidInput, wantErr: `starts or ends with '-'`},
	{name: "old-host-slash", in: "upstreams.in", edit: nginxEdit("web_api", "unix:/tmp/sock", cutoverHost), errIs: ErrInvalidInput, wantErr: `old host "unix:/tmp/sock"`},
	{name: "upstream-name-brace", in: "upstreams.in", edit: nginxEdit("web_api {", elbHost, cutoverHost), errIs: ErrInvalidInput, wantErr: `upstream name "web_api {" contains a space`},
	// Files that are not valid nginx configuration.
	{name: "unclosed-block", in: "unclosed.in", edit: nginxEdit("web_api", elbHost, cutoverHost), wantErr: `line 1: unexpected end of file, expecting "}"`},
	{name: "missing-semicolon", in: "missing-semicolon.in", edit: nginxEdit("web_api", elbHost, cutoverHost), wantErr: `line 3: unexpected "}"`},
	{name: "unterminated-quote", in: "unterminated-quote.in", edit: nginxEdit("web_api", elbHost, cutoverHost), wantErr: `line 2: unexpected end of file in a quoted string`},
}

func TestSetNginxUpstream(t *testing.T) { runGolden(t, "nginx", nginxCases) }
