package githubemu

import (
	"net/url"
	"slices"
	"strings"
)

// router matches GitHub's routes. It exists because http.ServeMux refuses
// GitHub's own route table: "/issues/{number}/comments" and
// "/issues/comments/{id}" overlap with neither more specific, which ServeMux
// treats as a registration conflict, while GitHub simply prefers literals.
type router struct {
	routes []*route
}

type route struct {
	method  string
	pattern string   // "/repos/{owner}/{repo}/pulls/{number}"
	segs    []string // the pattern split on "/"
	auth    authKind
	handle  handlerFunc
}

// name is how calls are recorded and failures injected: "GET /repos/{owner}/{repo}".
func (rt *route) name() string { return rt.method + " " + rt.pattern }

func (r *router) add(method, pattern string, auth authKind, h handlerFunc) *route {
	rt := &route{
		method:  method,
		pattern: pattern,
		segs:    strings.Split(strings.Trim(pattern, "/"), "/"),
		auth:    auth,
		handle:  h,
	}
	for i, seg := range rt.segs {
		if strings.HasSuffix(seg, "...}") && slices.ContainsFunc(rt.segs[i+1:], func(s string) bool { return strings.HasPrefix(s, "{") }) {
			panic("githubemu: route " + pattern + ": only literals may follow a rest parameter")
		}
	}
	r.routes = append(r.routes, rt)
	return rt
}

func (r *router) byName(name string) *route {
	for _, rt := range r.routes {
		if rt.name() == name {
			return rt
		}
	}
	return nil
}

// match finds the route for a request path given in its escaped form, so
// that a branch name sent as one escaped segment ("a%2Fb") and one sent as
// several segments ("a/b") both reach "{branch...}" as "a/b".
func (r *router) match(method, escapedPath string) (*route, map[string]string) {
	raw := strings.Split(strings.Trim(escapedPath, "/"), "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, nil // not a path GitHub would route either
		}
		segs[i] = u
	}
	var best *route
	var bestParams map[string]string
	for _, rt := range r.routes {
		if rt.method != method {
			continue
		}
		params, ok := rt.matchSegs(segs)
		if !ok {
			continue
		}
		if best == nil || moreSpecific(rt, best) {
			best, bestParams = rt, params
		}
	}
	return best, bestParams
}

func (rt *route) matchSegs(segs []string) (map[string]string, bool) {
	params := map[string]string{}
	for i, p := range rt.segs {
		name, isParam := strings.CutPrefix(p, "{")
		if isParam {
			name = strings.TrimSuffix(name, "}")
		}
		if rest, isRest := strings.CutSuffix(name, "..."); isParam && isRest {
			// A rest parameter takes every segment up to the literal ones
			// that follow it ("commits/{ref...}/status"): at least one.
			tail := rt.segs[i+1:]
			end := len(segs) - len(tail)
			if end <= i {
				return nil, false
			}
			for j, lit := range tail {
				if lit != segs[end+j] {
					return nil, false
				}
			}
			params[rest] = strings.Join(segs[i:end], "/")
			return params, true
		}
		if i >= len(segs) {
			return nil, false
		}
		switch {
		case isParam:
			if segs[i] == "" {
				return nil, false
			}
			params[name] = segs[i]
		case p != segs[i]:
			return nil, false
		}
	}
	return params, len(segs) == len(rt.segs)
}

// moreSpecific prefers, at the first segment where two matching patterns
// differ, a literal over a parameter over a "rest" parameter.
func moreSpecific(a, b *route) bool {
	rank := func(seg string) int {
		switch {
		case strings.HasSuffix(seg, "...}"):
			return 0
		case strings.HasPrefix(seg, "{"):
			return 1
		default:
			return 2
		}
	}
	for i := 0; i < len(a.segs) && i < len(b.segs); i++ {
		if ra, rb := rank(a.segs[i]), rank(b.segs[i]); ra != rb {
			return ra > rb
		}
	}
	return len(a.segs) > len(b.segs)
}
