package githubemu

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRouter(t *testing.T) {
	s := &Server{}
	s.registerRoutes()
	tests := []struct {
		name       string
		method     string
		path       string // escaped, as on the wire
		wantRoute  string // "" for no match
		wantParams map[string]string
	}{
		{
			name: "issue comments by number", method: "GET", path: "/repos/acme/r/issues/3/comments",
			wantRoute:  "GET /repos/{owner}/{repo}/issues/{number}/comments",
			wantParams: map[string]string{"owner": "acme", "repo": "r", "number": "3"},
		},
		{
			name: "a comment by id beats an issue number", method: "GET", path: "/repos/acme/r/issues/comments/9",
			wantRoute:  "GET /repos/{owner}/{repo}/issues/comments/{comment_id}",
			wantParams: map[string]string{"owner": "acme", "repo": "r", "comment_id": "9"},
		},
		{
			name: "slashy ref in segments", method: "GET", path: "/repos/acme/r/git/ref/heads/migratebot/web-api/weights-25",
			wantRoute:  "GET /repos/{owner}/{repo}/git/ref/{ref...}",
			wantParams: map[string]string{"owner": "acme", "repo": "r", "ref": "heads/migratebot/web-api/weights-25"},
		},
		{
			name: "slashy branch escaped in one segment", method: "GET", path: "/repos/acme/r/branches/migratebot%2Fweb-api",
			wantRoute:  "GET /repos/{owner}/{repo}/branches/{branch...}",
			wantParams: map[string]string{"owner": "acme", "repo": "r", "branch": "migratebot/web-api"},
		},
		{
			name: "nested contents path", method: "GET", path: "/repos/acme/r/contents/dns/kprod/web-api.yaml",
			wantRoute:  "GET /repos/{owner}/{repo}/contents/{path...}",
			wantParams: map[string]string{"owner": "acme", "repo": "r", "path": "dns/kprod/web-api.yaml"},
		},
		{
			name: "slashy ref before a literal", method: "GET", path: "/repos/acme/r/commits/migratebot/web-api/weights-25/status",
			wantRoute:  "GET /repos/{owner}/{repo}/commits/{ref...}/status",
			wantParams: map[string]string{"owner": "acme", "repo": "r", "ref": "migratebot/web-api/weights-25"},
		},
		{
			name: "ref named like the literal", method: "GET", path: "/repos/acme/r/commits/status/check-runs",
			wantRoute:  "GET /repos/{owner}/{repo}/commits/{ref...}/check-runs",
			wantParams: map[string]string{"owner": "acme", "repo": "r", "ref": "status"},
		},
		{name: "no ref before the literal", method: "GET", path: "/repos/acme/r/commits/status"},
		{
			name: "trailing slash", method: "GET", path: "/repos/acme/r/",
			wantRoute:  "GET /repos/{owner}/{repo}",
			wantParams: map[string]string{"owner": "acme", "repo": "r"},
		},
		{name: "wrong method", method: "DELETE", path: "/repos/acme/r/pulls/1"},
		{name: "unknown path", method: "GET", path: "/repos/acme/r/nonsense"},
		{name: "bad escape", method: "GET", path: "/repos/acme/r/branches/%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, params := s.router.match(tt.method, tt.path)
			got := ""
			if rt != nil {
				got = rt.name()
			}
			if got != tt.wantRoute {
				t.Fatalf("route = %q, want %q", got, tt.wantRoute)
			}
			if rt == nil {
				return
			}
			if diff := cmp.Diff(tt.wantParams, params); diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
		})
	}
}
