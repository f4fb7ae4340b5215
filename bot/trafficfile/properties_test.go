package trafficfile

import "testing"

func propertyEdit(key, value string) func([]byte) ([]byte, error) {
	return func(content []byte) ([]byte, error) { return SetProperty(content, key, value) }
}

var propertyCases = []goldenCase{
	// Separators and unusual formatting.
	{name: "equals-with-spaces", in: "mule-proxy.in", edit: propertyEdit("implementation.host", cutoverHost)},
	{name: "colon", in: "mule-proxy.in", edit: propertyEdit("implementation.port", "8443")},
	{name: "whitespace-separator", in: "mule-proxy.in", edit: propertyEdit("implementation.path", "/api/v2")},
	{name: "escaped-value", in: "mule-proxy.in", edit: propertyEdit("implementation.uri", "https://"+cutoverHost+":443/api")},
	{name: "trailing-whitespace", in: "mule-proxy.in", edit: propertyEdit("healthcheck.host", cutoverHost)},
	{name: "escaped-key", in: "mule-proxy.in", edit: propertyEdit("escaped key=x", "new-value")},
	{name: "unicode-escaped-key", in: "mule-proxy.in", edit: propertyEdit("unicode.host", cutoverHost)},
	{name: "indented-key", in: "mule-proxy.in", edit: propertyEdit("indented.key", "new-value")},
	{name: "continued-value", in: "mule-proxy.in", edit: propertyEdit("description", "short")},
	{name: "after-comment-with-backslash", in: "mule-proxy.in", edit: propertyEdit("after.comment", "no")},
	{name: "empty-value", in: "mule-proxy.in", edit: propertyEdit("empty.key", "now-set")},
	{name: "no-newline-at-end", in: "no-newline.in", edit: propertyEdit("last.key", "changed")},
	// Setting a value to the one it has.
	{name: "same-value", in: "mule-proxy.in", edit: propertyEdit("proxy.port", "8081"), unchanged: true},
	{name: "same-escaped-value", in: "mule-proxy.in", edit: propertyEdit("implementation.uri", "https://"+elbHost+":443/api"), unchanged: true},
	// Not found and ambiguous.
	{name: "no-key", in: "mule-proxy.in", edit: propertyEdit("nope", "x"), errIs: ErrNotFound, wantErr: `no key "nope" in file`},
	{name: "commented-key", in: "mule-proxy.in", edit: propertyEdit("Managed", "x"), errIs: ErrNotFound, wantErr: `no key "Managed" in file`},
	{name: "duplicate-key", in: "duplicate.in", edit: propertyEdit("implementation.host", cutoverHost), errIs: ErrAmbiguous,
		wantErr: `line 3: key "implementation.host" is set more than once (first at line 1)`},
	// Edits that cannot be made exactly.
	{name: "bare-key", in: "mule-proxy.in", edit: propertyEdit("bare.key", "x"), wantErr: `line 19: key "bare.key" has no separator and no value; write "bare.key=" first`},
	{name: "value-read-as-separator", in: "mule-proxy.in", edit: propertyEdit("implementation.path", "=x"), wantErr: `line 7: key "implementation.path" has no '=' or ':' separator, so a value starting with '=' would be read as one`},
	// Invalid input.
	{name: "empty-key", in: "mule-proxy.in", edit: propertyEdit("", "x"), errIs: ErrInvalidInput, wantErr: `key is empty`},
	{name: "value-space", in: "mule-proxy.in", edit: propertyEdit("implementation.host", "a b"), errIs: ErrInvalidInput, wantErr: `new value "a b" contains a space`},
	{name: "value-backslash", in: "mule-proxy.in", edit: propertyEdit("implementation.host", `a\`), errIs: ErrInvalidInput, wantErr: `contains '\\'`},
	{name: "value-newline", in: "mule-proxy.in", edit: propertyEdit("implementation.host", "a\nevil=1"), errIs: ErrInvalidInput, wantErr: `contains a line break`},
	{name: "value-empty", in: "mule-proxy.in", edit: propertyEdit("implementation.host", ""), errIs: ErrInvalidInput, wantErr: `new value is empty`},
	{name: "value-non-ascii", in: "mule-proxy.in", edit: propertyEdit("implementation.host", "hôst"), errIs: ErrInvalidInput, wantErr: `contains a non-ASCII character`},
	// Files Java would not load.
	{name: "malformed-unicode-escape", in: "malformed.in", edit: propertyEdit("implementation.host", cutoverHost), wantErr: `line 2: value of key "bad.escape": malformed \uxxxx escape "\\u12G4"`},
}

func TestSetProperty(t *testing.T) { runGolden(t, "properties", propertyCases) }
