package trafficfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReferences(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name    string
		content string
		host    string
		want    []int
	}{
		{name: "nginx", content: read("nginx/upstreams.in"), host: elbHost, want: []int{6, 7, 13}},
		{name: "nginx quoted and bare", content: read("nginx/nginx.in"), host: elbHost, want: []int{16, 17}},
		{name: "nginx not a substring", content: read("nginx/upstreams.in"), host: "payments-99.us-east-1.elb.amazonaws.com", want: []int{16}},
		{name: "nginx after the cutover", content: read("nginx/host-keeps-port-and-params.want"), host: elbHost, want: []int{13}},
		{name: "properties", content: read("properties/mule-proxy.in"), host: elbHost, want: []int{5, 8, 9, 12}},
		{name: "yaml", content: read("yaml/mule-proxy.in"), host: elbHost, want: []int{5, 12, 13}},
		{name: "fastly", content: read("fastly/fastly.in"), host: elbHost, want: []int{12}},
		{name: "route53 none", content: read("route53/route53.in"), host: elbHost},
		{name: "route53 public name", content: read("route53/route53.in"), host: "web-api.acme.example", want: []int{4}},
		{name: "crlf", content: "a\r\nhost web-api.x;\r\n\r\nweb-api.x\r\n", host: "web-api.x", want: []int{2, 4}},
		{name: "lone cr", content: "a\rweb-api.x\r", host: "web-api.x", want: []int{2}},
		{name: "case-insensitive", content: "server WEB-API.X:80;\n", host: "web-api.x", want: []int{1}},
		{name: "trailing dot in file", content: "records = [\"web-api.x.\"]\n", host: "web-api.x", want: []int{1}},
		{name: "trailing dot in host", content: "records = [\"web-api.x\"]\n", host: "web-api.x.", want: []int{1}},
		{name: "end of sentence", content: "# moved off web-api.x.\n", host: "web-api.x", want: []int{1}},
		{name: "url", content: "uri=https\\://web-api.x\\:443/api\nu: https://web-api.x/p\n", host: "web-api.x", want: []int{1, 2}},
		{name: "comment counts", content: "# was web-api.x\n", host: "web-api.x", want: []int{1}},
		{name: "prefix is a longer name", content: "server old-web-api.x;\nserver a.web-api.x;\nserver a_web-api.x;\n", host: "web-api.x"},
		{name: "suffix is a longer name", content: "server web-api.x.y;\nserver web-api.xy;\nserver web-api.x-y;\nserver web-api.x_y;\n", host: "web-api.x"},
		{name: "several on a line", content: "a web-api.x web-api.x\nb\n", host: "web-api.x", want: []int{1}},
		{name: "at start and end of content", content: "web-api.x", host: "web-api.x", want: []int{1}},
		{name: "with port", content: "server web-api.x:443;\nserver web-api.x:4430;\nserver web-api.x:80;\n", host: "web-api.x:443", want: []int{1}},
		{name: "invalid host", content: "a b\n", host: "a b"},
		{name: "empty host", content: "a\n", host: ""},
		{name: "empty content", content: "", host: "web-api.x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := References([]byte(tt.content), tt.host)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("References(%q) lines (-want +got):\n%s", tt.host, diff)
			}
		})
	}
}
