package trafficfile

import "testing"

func yamlEdit(path, value string) func([]byte) ([]byte, error) {
	return func(content []byte) ([]byte, error) { return SetYAMLValue(content, path, value) }
}

var yamlCases = []goldenCase{
	// Styles and paths.
	{name: "plain", in: "mule-proxy.in", edit: yamlEdit("proxy.upstream.host", cutoverHost)},
	{name: "plain-int", in: "mule-proxy.in", edit: yamlEdit("proxy.upstream.port", "8443")},
	{name: "double-quoted", in: "mule-proxy.in", edit: yamlEdit("proxy.upstream.path", "/api/v2")},
	{name: "single-quoted", in: "mule-proxy.in", edit: yamlEdit("proxy.upstream.scheme", "http")},
	{name: "key-with-dot", in: "mule-proxy.in", edit: yamlEdit("proxy.tls.context", "cutover-tls")},
	{name: "list-index", in: "mule-proxy.in", edit: yamlEdit("backends.0.host", cutoverHost)},
	{name: "flow-mapping", in: "mule-proxy.in", edit: yamlEdit("backends.1.host", cutoverHost)},
	{name: "flow-int", in: "mule-proxy.in", edit: yamlEdit("flow.retries", "3")},
	{name: "quoted-multi-line", in: "mule-proxy.in", edit: yamlEdit("quoted_multi", "one-line")},
	{name: "ip-address", in: "mule-proxy.in", edit: yamlEdit("proxy.upstream.host", "10.0.12.8")},
	{name: "escaped-double-quoted", in: "mule-proxy.in", edit: yamlEdit("escaped", cutoverHost)},
	// Setting a value to the one it has.
	{name: "same-value", in: "mule-proxy.in", edit: yamlEdit("proxy.upstream.host", elbHost), unchanged: true},
	{name: "same-escaped-value", in: "mule-proxy.in", edit: yamlEdit("escaped", elbHost), unchanged: true},
	{name: "same-folded-value", in: "mule-proxy.in", edit: yamlEdit("folded_plain", "this is folded"), errIs: ErrInvalidInput, wantErr: `contains a space`},
	// Not found and ambiguous.
	{name: "no-key", in: "mule-proxy.in", edit: yamlEdit("proxy.upstream.nope", "x"), errIs: ErrNotFound, wantErr: `line 5: "proxy.upstream.nope": no key "nope"`},
	{name: "no-list-index", in: "mule-proxy.in", edit: yamlEdit("backends.2.host", "x"), errIs: ErrNotFound, wantErr: `line 11: "backends.2.host": list has 2 items, no index 2`},
	{name: "not-a-mapping", in: "mule-proxy.in", edit: yamlEdit("proxy.port.x", "x"), errIs: ErrNotFound, wantErr: `line 3: "proxy.port.x": no key "x": not a mapping`},
	{name: "duplicate-key", in: "duplicate.in", edit: yamlEdit("proxy.host", cutoverHost), wantErr: `line 3: mapping key "proxy" already defined at line 1`},
	{name: "dotted-and-nested", in: "dotted.in", edit: yamlEdit("proxy.host", cutoverHost), errIs: ErrAmbiguous, wantErr: `line 2: "proxy.host": more than one key leads there ("proxy.host" at line 1 and "proxy" at line 2)`},
	// Nodes that cannot be edited.
	{name: "mapping", in: "mule-proxy.in", edit: yamlEdit("proxy.upstream", "x"), wantErr: `line 5: "proxy.upstream" is a mapping, not a scalar`},
	{name: "list", in: "mule-proxy.in", edit: yamlEdit("backends", "x"), wantErr: `line 11: "backends" is a list, not a scalar`},
	{name: "alias", in: "mule-proxy.in", edit: yamlEdit("mirror", "x"), wantErr: `line 20: "mirror" is an alias (*defaults)`},
	{name: "through-alias", in: "mule-proxy.in", edit: yamlEdit("mirror.region", "x"), wantErr: `line 20: "mirror.region": path goes through an alias (*defaults)`},
	{name: "merge-key", in: "mule-proxy.in", edit: yamlEdit("eu.region", "x"), wantErr: `line 18: "eu.region": no key "region" here, and this mapping has a merge key (<<)`},
	{name: "anchored", in: "mule-proxy.in", edit: yamlEdit("defaults.region", "x"), wantErr: `line 16: "defaults.region": it is inside a node with an anchor (&defaults, line 15)`},
	{name: "null", in: "mule-proxy.in", edit: yamlEdit("empty", "x"), wantErr: `line 21: "empty" is null (no value)`},
	{name: "block-scalar", in: "mule-proxy.in", edit: yamlEdit("multi", "x"), wantErr: `line 22: "multi" is a block scalar`},
	{name: "folded-plain", in: "mule-proxy.in", edit: yamlEdit("folded_plain", "x"), wantErr: `line 24: "folded_plain": plain scalar spans several lines`},
	{name: "string-to-int", in: "mule-proxy.in", edit: yamlEdit("proxy.upstream.host", "123"), wantErr: `line 5: "proxy.upstream.host": new value "123" would read as !!int, not !!str like the old value`},
	{name: "string-to-yaml11-bool", in: "mule-proxy.in", edit: yamlEdit("proxy.upstream.host", "on"), wantErr: `line 5: "proxy.upstream.host": new value "on" would not read as a string in YAML 1.1`},
	{name: "string-to-sexagesimal", in: "mule-proxy.in", edit: yamlEdit("proxy.upstream.host", "10:20"), wantErr: `new value "10:20" would not read as a string in YAML 1.1`},
	{name: "int-to-string", in: "mule-proxy.in", edit: yamlEdit("proxy.upstream.port", "https"), wantErr: `new value "https" would read as !!str, not !!int`},
	{name: "comma-in-flow", in: "mule-proxy.in", edit: yamlEdit("backends.1.host", "a,b"), wantErr: `new value "a,b" cannot be written as a plain (unquoted) scalar here`},
	{name: "comment-start", in: "mule-proxy.in", edit: yamlEdit("proxy.upstream.host", "#x"), wantErr: `new value "#x" cannot be written as a plain (unquoted) scalar here`},
	{name: "two-documents", in: "two-docs.in", edit: yamlEdit("proxy.host", cutoverHost), wantErr: `line 3: a second YAML document; want exactly one`},
	// Invalid input.
	{name: "empty-path", in: "mule-proxy.in", edit: yamlEdit("", "x"), errIs: ErrInvalidInput, wantErr: `path is empty`},
	{name: "empty-segment", in: "mule-proxy.in", edit: yamlEdit("proxy..host", "x"), errIs: ErrInvalidInput, wantErr: `path "proxy..host" has an empty segment`},
	{name: "value-quote", in: "mule-proxy.in", edit: yamlEdit("proxy.upstream.path", `a"b`), errIs: ErrInvalidInput, wantErr: `contains '"'`},
	{name: "value-brace", in: "mule-proxy.in", edit: yamlEdit("backends.1.host", "a}"), errIs: ErrInvalidInput, wantErr: `contains '}'`},
}

func TestSetYAMLValue(t *testing.T) { runGolden(t, "yaml", yamlCases) }
