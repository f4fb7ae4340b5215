package trafficfile

import "testing"

func fastlyEdit(backend, address string) func([]byte) ([]byte, error) {
	return func(content []byte) ([]byte, error) { return SetFastlyBackendAddress(content, backend, address) }
}

var fastlyCases = []goldenCase{
	{name: "literal-address", in: "fastly.in", edit: fastlyEdit("web_api_origin", cutoverHost)},
	{name: "reference-address-tabs", in: "fastly.in", edit: fastlyEdit("static", cutoverHost)},
	{name: "compute-service", in: "fastly.in", edit: fastlyEdit("fn_origin", "fn-cutover.kprod.acme.example")},
	{name: "same-address", in: "fastly.in", edit: fastlyEdit("web_api_origin", elbHost), unchanged: true},
	{name: "no-backend", in: "fastly.in", edit: fastlyEdit("nope", cutoverHost), errIs: ErrNotFound,
		wantErr: `no backend named "nope" in fastly_service_vcl or fastly_service_compute resources (backends in file: "web_api_origin", "static", "fn_origin", "no_address")`},
	{name: "no-address", in: "fastly.in", edit: fastlyEdit("no_address", cutoverHost), errIs: ErrNotFound, wantErr: `line 33: backend "no_address" (in fastly_service_compute.edge_fn) has no address`},
	{name: "no-service", in: "../route53/route53.in", edit: fastlyEdit("origin", cutoverHost), errIs: ErrNotFound, wantErr: `no resource "fastly_service_vcl" or "fastly_service_compute" in file`},
	{name: "duplicate-backend", in: "duplicate.in", edit: fastlyEdit("origin", cutoverHost), errIs: ErrAmbiguous,
		wantErr: `line 9: backend "origin" is defined 2 times (line 2 in fastly_service_vcl.prod, line 9 in fastly_service_vcl.staging)`},
	{name: "not-terraform", in: "broken.in", edit: fastlyEdit("origin", cutoverHost), wantErr: `line 4: not Terraform: Invalid multi-line string`},
	{name: "address-with-port", in: "fastly.in", edit: fastlyEdit("web_api_origin", cutoverHost+":443"), errIs: ErrInvalidInput, wantErr: `a port is not allowed here`},
	{name: "address-interpolation", in: "fastly.in", edit: fastlyEdit("web_api_origin", "${var.x}"), errIs: ErrInvalidInput, wantErr: `contains '$'`},
	{name: "address-quote", in: "fastly.in", edit: fastlyEdit("web_api_origin", `a" evil = "b`), errIs: ErrInvalidInput, wantErr: `contains '"'`},
	{name: "empty-backend", in: "fastly.in", edit: fastlyEdit("", cutoverHost), errIs: ErrInvalidInput, wantErr: `backend name is empty`},
}

func TestSetFastlyBackendAddress(t *testing.T) { runGolden(t, "fastly", fastlyCases) }

func cnameEdit(label, target string, ttl int) func([]byte) ([]byte, error) {
	return func(content []byte) ([]byte, error) { return SetCNAME(content, label, target, ttl) }
}

var cnameCases = []goldenCase{
	{name: "alias-to-cname", in: "route53.in", edit: cnameEdit("web_api", cutoverHost, 60)},
	{name: "cname-new-target", in: "route53.in", edit: cnameEdit("web_api_cname", cutoverHost, 60)},
	{name: "cname-same-ttl", in: "route53.in", edit: cnameEdit("web_api_cname", cutoverHost, 300)},
	{name: "missing-type-ttl-records", in: "route53.in", edit: cnameEdit("bare", cutoverHost, 60)},
	{name: "missing-name-too", in: "route53.in", edit: cnameEdit("no_name", cutoverHost, 60)},
	{name: "no-record", in: "route53.in", edit: cnameEdit("nope", cutoverHost, 60), errIs: ErrNotFound,
		wantErr: `no resource "aws_route53_record" "nope" in file (aws_route53_record resources: "web_api", "web_api_cname", "bare", "no_name", "one_line", "two_aliases", "dynamic_alias")`},
	{name: "duplicate-record", in: "duplicate.in", edit: cnameEdit("web_api", cutoverHost, 60), errIs: ErrAmbiguous,
		wantErr: `line 6: resource "aws_route53_record" "web_api" is defined 2 times (first at line 1)`},
	{name: "one-line", in: "route53.in", edit: cnameEdit("one_line", cutoverHost, 60), wantErr: `line 37: resource "aws_route53_record" "one_line" is written on one line; not supported`},
	{name: "two-aliases", in: "route53.in", edit: cnameEdit("two_aliases", cutoverHost, 60), wantErr: `line 44: resource "aws_route53_record" "two_aliases" has more than one alias block`},
	{name: "dynamic-alias", in: "route53.in", edit: cnameEdit("dynamic_alias", cutoverHost, 60), wantErr: `line 51: resource "aws_route53_record" "dynamic_alias" has a dynamic "alias" block; edit it by hand`},
	{name: "target-with-port", in: "route53.in", edit: cnameEdit("web_api", cutoverHost+":443", 60), errIs: ErrInvalidInput, wantErr: `CNAME target "` + cutoverHost + `:443": a port is not allowed here`},
	{name: "target-injection", in: "route53.in", edit: cnameEdit("web_api", `a"]`+"\n"+`  ttl = 1 #`, 60), errIs: ErrInvalidInput, wantErr: `contains '"'`},
	{name: "negative-ttl", in: "route53.in", edit: cnameEdit("web_api", cutoverHost, -1), errIs: ErrInvalidInput, wantErr: `ttl -1 is outside 0..2147483647`},
	{name: "empty-label", in: "route53.in", edit: cnameEdit("", cutoverHost, 60), errIs: ErrInvalidInput, wantErr: `resource label is empty`},
	{name: "not-terraform", in: "../fastly/broken.in", edit: cnameEdit("web_api", cutoverHost, 60), wantErr: `line 4: not Terraform`},
}

func TestSetCNAME(t *testing.T) { runGolden(t, "route53", cnameCases) }
