package githubemu

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures a Server. The zero value works, but without
// AppPublicKey no app JWT is ever accepted, so no token can be had.
type Options struct {
	AppID int64
	// AppPublicKey verifies app JWTs (RS256). Their iss must equal AppID;
	// ghinstallation sends it as a string, a number is accepted too.
	AppPublicKey *rsa.PublicKey
	// BotLogin is who acts with an installation token, e.g.
	// "migratebot[bot]" (user type "Bot"). Default "migratebot[bot]".
	BotLogin string
	// WebhookURL is where webhooks are POSTed; "" sends none until
	// SetWebhookURL (deliveries made meanwhile are recorded as undelivered
	// with ErrNoWebhookURL, as GitHub drops events for an app without a URL).
	WebhookURL    string
	WebhookSecret string
	// Now stamps timestamps (created_at, merged_at, commit dates). Default time.Now.
	Now func() time.Time
	// AuthNow is the clock JWT iat/exp, token expiry and rate-limit windows
	// are judged by. Default: Now. ghinstallation signs JWTs and decides
	// when to refresh a token by the wall clock, so a caller whose Now is a
	// fake clock that jumps ahead (the sandbox) sets AuthNow to time.Now, or
	// every JWT looks expired and every token dies an hour into fake time.
	AuthNow func() time.Time
	// OnEvent is called synchronously, in order, for every observable
	// effect, outside the emulator's locks: it may call the inspection
	// methods (PR, File, ...) but not the people actions (Merge, Comment,
	// ...), which wait for effects to be emitted and would deadlock.
	OnEvent func(Event)
}

// Server is an in-memory GitHub: REST API v3 on a loopback port, and
// webhook deliveries to one URL, as a GitHub App installed on some
// accounts sees them.
type Server struct {
	opts    Options
	srv     *httptest.Server
	api     string // API root for the url fields of payloads, no trailing slash
	router  router
	now     func() time.Time
	authNow func() time.Time
	hooks   *hookQueue

	// emitMu orders the emission of effects (see flush).
	emitMu sync.Mutex

	// mu guards everything below, and every repo.
	mu            sync.Mutex
	nextID        int64
	accounts      map[string]*account // by lower-case login
	installations map[int64]*installation
	tokens        map[string]*accessToken
	rates         map[string]*rateWindow
	repos         map[string]*repo             // by lower-case full name
	perms         map[string]map[string]string // repo -> login -> role, lower-case keys
	teams         map[string]*team             // by lower-case "org/slug"
	calls         []Call
	failures      map[string]*failure // by route name
	latency       time.Duration
	webhookURL    string
	deliveries    []Delivery
	lastHook      *delivery
	outbox        []effect
	closed        bool
}

// Call is one API request as the emulator routed and answered it.
type Call struct {
	Method string
	// Route is the matched route pattern, e.g.
	// "POST /repos/{owner}/{repo}/pulls"; "" when no route matched.
	Route string
	// Path is the path requested, without the "/api/v3" prefix.
	Path   string
	Status int
	// Start is when the request arrived, End when it was answered.
	Start, End time.Time
}

type failure struct {
	status int
	count  int
	header http.Header
}

// New starts an emulator on 127.0.0.1. Close it when done.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AuthNow == nil {
		opts.AuthNow = opts.Now
	}
	if opts.BotLogin == "" {
		opts.BotLogin = "migratebot[bot]"
	}
	s := &Server{
		opts:          opts,
		now:           func() time.Time { return opts.Now().UTC().Truncate(time.Second) },
		authNow:       opts.AuthNow,
		nextID:        1000,
		accounts:      map[string]*account{},
		installations: map[int64]*installation{},
		tokens:        map[string]*accessToken{},
		rates:         map[string]*rateWindow{},
		repos:         map[string]*repo{},
		perms:         map[string]map[string]string{},
		teams:         map[string]*team{},
		failures:      map[string]*failure{},
		webhookURL:    opts.WebhookURL,
	}
	s.accountLocked(opts.BotLogin, kindBot)
	s.registerRoutes()
	s.hooks = newHookQueue(s)
	go s.hooks.run()
	// Everything a handler reads is set before the server starts.
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.api = "http://" + s.srv.Listener.Addr().String()
	s.srv.Start()
	return s
}

// URL is the emulator's root, "http://127.0.0.1:PORT/". The API answers
// there and under "/api/v3/", which is where go-github's WithEnterpriseURLs
// sends requests.
func (s *Server) URL() string { return s.srv.URL + "/" }

// Close stops the server. Webhooks still queued are not delivered, and
// actions waiting for them return.
func (s *Server) Close() {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if already {
		return
	}
	s.hooks.close()
	s.srv.Close()
}

// SetWebhookURL changes where webhooks go from now on.
func (s *Server) SetWebhookURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhookURL = u
}

// SetLatency adds d to every API call, to make benchmarks feel the network.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// FailNext makes the next count calls to route (as in Call.Route, e.g.
// "POST /repos/{owner}/{repo}/pulls") answer status with header added. A
// 403 or 429 with Retry-After answers like GitHub's secondary rate limit,
// one with "X-RateLimit-Remaining: 0" like its primary one. An unknown
// route panics: a typo would otherwise make the test pass vacuously.
func (s *Server) FailNext(route string, status int, count int, header http.Header) {
	if s.router.byName(route) == nil {
		panic(fmt.Sprintf("githubemu: FailNext: no route %q", route))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if count <= 0 {
		delete(s.failures, route)
		return
	}
	s.failures[route] = &failure{status: status, count: count, header: header.Clone()}
}

// Calls lists every API call since New or ResetCalls, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// ResetCalls forgets the calls recorded so far.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

func (s *Server) newIDLocked() int64 {
	s.nextID++
	return s.nextID
}

type authKind int

const (
	authInstallation authKind = iota // an installation access token
	authApp                          // the app's JWT
)

// handlerFunc serves one route with the state lock held. It returns the
// status and the value to encode as JSON, or an error: an *apiError is
// answered as GitHub would, anything else is a bug in the emulator (500).
type handlerFunc func(c *call) (int, any, error)

// call is what a handler knows about the request it serves.
type call struct {
	r      *http.Request
	body   []byte
	params map[string]string
	query  url.Values
	inst   *installation // whose token was used; nil for app calls
	actor  string        // login acting: the bot for installation tokens
	repo   *repo         // for routes under /repos/{owner}/{repo}
	header http.Header   // extra response headers, e.g. Link
	// rateKey is the rate-limit bucket the call was charged to.
	rateKey string
}

func (c *call) param(name string) string { return c.params[name] }

// number parses a numeric path parameter; GitHub answers 404 for a
// non-number where a number belongs.
func (c *call) number(name string) (int, error) {
	n, err := strconv.Atoi(c.params[name])
	if err != nil {
		return 0, errNotFound()
	}
	return n, nil
}

// decode reads the JSON body into v; an empty body leaves v as it is.
func (c *call) decode(v any) error {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return &apiError{status: http.StatusBadRequest, message: "Problems parsing JSON"}
	}
	return nil
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(p, "/api/v3"); ok && (rest == "" || rest[0] == '/') {
		p = rest
	}
	start := time.Now()
	rt, params := s.router.match(r.Method, p)

	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		sleepCtx(r.Context(), latency)
	}

	status, header, body := s.dispatch(r, rt, params)

	s.mu.Lock()
	c := Call{Method: r.Method, Path: p, Status: status, Start: start, End: time.Now()}
	if rt != nil {
		c.Route = rt.name()
	}
	s.calls = append(s.calls, c)
	s.mu.Unlock()

	for k, v := range header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	if body != nil {
		// The client went away; there is no one left to tell.
		_, _ = w.Write(body)
	}
}

// dispatch authenticates, applies rate limits and injected failures, and
// runs the handler. It flushes the effects the handler caused before the
// response goes out, so a caller that got its answer also saw its events.
func (s *Server) dispatch(r *http.Request, rt *route, params map[string]string) (int, http.Header, []byte) {
	header := http.Header{}
	header.Set("Content-Type", "application/json; charset=utf-8")
	header.Set("X-GitHub-Request-Id", requestID())
	header.Set("X-GitHub-Media-Type", "github.v3; format=json")

	body, err := io.ReadAll(r.Body)
	if err != nil {
		return s.encode(header, 0, nil, &apiError{status: http.StatusBadRequest, message: "Problems reading body"})
	}
	if rt == nil {
		return s.encode(header, 0, nil, errNotFound())
	}

	c := &call{r: r, body: body, params: params, query: r.URL.Query(), header: header}
	status, out, err := s.handleLocked(c, rt, header)
	s.flush()
	status, header, b := s.encode(header, status, out, err)
	if r.Method == http.MethodGet && status == http.StatusOK {
		// Conditional requests, as GitHub answers them: an ETag on every
		// 200, and 304 with no body for a matching If-None-Match, which
		// does not count against the rate limit.
		sum := sha256.Sum256(b)
		etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
		header.Set("ETag", etag)
		if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag {
			s.refundRate(c.rateKey, header)
			header.Del("Content-Type")
			return http.StatusNotModified, header, nil
		}
	}
	return status, header, b
}

// refundRate takes back the charge of a call that GitHub would not count.
func (s *Server) refundRate(key string, header http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.rates[key]
	if key == "" || w == nil || w.used == 0 {
		return
	}
	w.used--
	used := min(w.used, rateLimit)
	header.Set("X-RateLimit-Remaining", strconv.Itoa(rateLimit-used))
	header.Set("X-RateLimit-Used", strconv.Itoa(used))
}

func (s *Server) handleLocked(c *call, rt *route, header http.Header) (int, any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	rateKey, authErr := s.authenticateLocked(c, rt)
	var limited error
	if authErr == nil {
		limited = s.countRateLocked(rateKey, header)
		c.rateKey = rateKey
	}
	if f := s.failures[rt.name()]; f != nil {
		f.count--
		if f.count <= 0 {
			delete(s.failures, rt.name())
		}
		return 0, nil, injectedError(f.status, f.header)
	}
	if authErr != nil {
		return 0, nil, authErr
	}
	if limited != nil {
		return 0, nil, limited
	}
	if rt.auth == authInstallation && c.params["owner"] != "" && c.params["repo"] != "" {
		repo := s.repos[strings.ToLower(c.params["owner"]+"/"+c.params["repo"])]
		// A repo outside the installation is indistinguishable from a
		// missing one, as on GitHub.
		if repo == nil || !strings.EqualFold(repo.owner, c.inst.account) {
			return 0, nil, errNotFound()
		}
		c.repo = repo
	}
	return rt.handle(c)
}

// encode turns a handler's result into the response.
func (s *Server) encode(header http.Header, status int, out any, err error) (int, http.Header, []byte) {
	if err != nil {
		ae, ok := err.(*apiError)
		if !ok {
			ae = &apiError{status: http.StatusInternalServerError, message: "githubemu: " + err.Error()}
		}
		for k, v := range ae.header {
			header[k] = v
		}
		status, out = ae.status, ae.body()
	}
	if status == http.StatusNoContent || out == nil {
		header.Del("Content-Type")
		return status, header, nil
	}
	b, merr := json.Marshal(out)
	if merr != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"message":"githubemu: cannot encode response: ` + strings.ReplaceAll(merr.Error(), `"`, `'`) + `"}`)
	}
	return status, header, b
}

// paginate answers one page of items the way GitHub does (page, per_page,
// and a Link header that go-github reads into Response.NextPage).
func paginate[T any](s *Server, c *call, items []T) []T {
	perPage := 30
	if v, err := strconv.Atoi(c.query.Get("per_page")); err == nil && v > 0 {
		perPage = min(v, 100)
	}
	page := 1
	if v, err := strconv.Atoi(c.query.Get("page")); err == nil && v > 0 {
		page = v
	}
	last := max(1, (len(items)+perPage-1)/perPage)
	link := func(p int, rel string) string {
		q := c.r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(perPage))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, s.api, c.r.URL.Path, q.Encode(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		c.header.Set("Link", strings.Join(links, ", "))
	}
	start := min((page-1)*perPage, len(items))
	end := min(start+perPage, len(items))
	out := items[start:end]
	if out == nil {
		out = []T{} // "[]", never "null"
	}
	return out
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
