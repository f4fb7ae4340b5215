package githubemu

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
)

const (
	tokenTTL        = time.Hour
	rateLimit       = 5000
	rateWindowSpan  = time.Hour
	jwtMaxLifetime  = 10 * time.Minute // GitHub refuses an exp further out
	jwtClockLeeway  = 60 * time.Second // GitHub tolerates this much drift
	installationKey = "installation:"
)

type installation struct {
	id        int64
	account   string // login of the org (or user) the app is installed on
	createdAt time.Time
}

type accessToken struct {
	installation int64
	expiresAt    time.Time
}

type rateWindow struct {
	reset time.Time
	used  int
}

// appPermissions are what the app's manifest asks for; tokens carry them.
func appPermissions() obj {
	return obj{
		"contents":      "write",
		"issues":        "write",
		"metadata":      "read",
		"pull_requests": "write",
		"members":       "read",
	}
}

var appEvents = []string{"issue_comment", "issues", "pull_request", "pull_request_review"}

// AddInstallation installs the app on account (an organization login):
// every repo owned by it belongs to the installation.
func (s *Server) AddInstallation(id int64, account string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accountLocked(account, kindOrg)
	s.installations[id] = &installation{id: id, account: account, createdAt: s.now()}
}

// authenticateLocked checks the Authorization header for the kind of
// credential the route needs, and returns the rate-limit bucket to charge.
func (s *Server) authenticateLocked(c *call, rt *route) (string, error) {
	scheme, cred, _ := strings.Cut(c.r.Header.Get("Authorization"), " ")
	scheme = strings.ToLower(scheme)
	if rt.auth == authApp {
		if scheme != "bearer" {
			return "", &apiError{status: http.StatusUnauthorized,
				message: "A JSON web token could not be decoded"}
		}
		if err := s.verifyAppJWT(cred); err != nil {
			return "", err
		}
		return "app", nil
	}
	if scheme != "token" && scheme != "bearer" {
		// GitHub answers an anonymous call to a private repo with 404, but
		// the bot never calls anonymously: a missing header is a bug worth
		// a loud 401.
		return "", &apiError{status: http.StatusUnauthorized, message: "Requires authentication"}
	}
	tok, ok := s.tokens[cred]
	if !ok || !s.authNow().Before(tok.expiresAt) {
		return "", errBadCredentials()
	}
	inst, ok := s.installations[tok.installation]
	if !ok {
		return "", errBadCredentials()
	}
	c.inst = inst
	c.actor = s.opts.BotLogin
	return installationKey + strconv.FormatInt(inst.id, 10), nil
}

// verifyAppJWT checks an app JWT as GitHub does: RS256 signed by the app's
// key, iss the app id, issued in the past and expiring within ten minutes.
func (s *Server) verifyAppJWT(raw string) error {
	unauthorized := func(msg string) error {
		return &apiError{status: http.StatusUnauthorized, message: msg}
	}
	if s.opts.AppPublicKey == nil {
		return unauthorized("A JSON web token could not be decoded")
	}
	claims := jwt.MapClaims{}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithJSONNumber(),
		// The library judges exp and iat by the wall clock; they are
		// judged below by AuthNow instead.
		jwt.WithoutClaimsValidation(),
	)
	if _, err := parser.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) {
		return s.opts.AppPublicKey, nil
	}); err != nil {
		return unauthorized("A JSON web token could not be decoded")
	}
	if !issuerIs(claims["iss"], s.opts.AppID) {
		return unauthorized("'Issuer' claim ('iss') must be an Integer")
	}
	now := s.authNow()
	exp, okExp := unixClaim(claims["exp"])
	iat, okIat := unixClaim(claims["iat"])
	switch {
	case !okExp || !now.Before(exp):
		return unauthorized("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
	case exp.After(now.Add(jwtMaxLifetime + jwtClockLeeway)):
		return unauthorized("'Expiration time' claim ('exp') is too far in the future")
	case !okIat || iat.After(now.Add(jwtClockLeeway)):
		return unauthorized("'Issued at' claim ('iat') must be an Integer representing a time in the past")
	}
	return nil
}

func issuerIs(v any, appID int64) bool {
	switch iss := v.(type) {
	case string:
		return iss == strconv.FormatInt(appID, 10)
	case json.Number:
		n, err := iss.Int64()
		return err == nil && n == appID
	}
	return false
}

func unixClaim(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// countRateLocked charges one call to the bucket and sets GitHub's
// rate-limit headers; past the limit it answers like GitHub's primary
// rate limit.
func (s *Server) countRateLocked(key string, header http.Header) error {
	now := s.authNow()
	w := s.rates[key]
	if w == nil || !now.Before(w.reset) {
		w = &rateWindow{reset: now.Add(rateWindowSpan).Truncate(time.Second)}
		s.rates[key] = w
	}
	w.used++
	used := min(w.used, rateLimit)
	header.Set("X-RateLimit-Limit", strconv.Itoa(rateLimit))
	header.Set("X-RateLimit-Remaining", strconv.Itoa(rateLimit-used))
	header.Set("X-RateLimit-Used", strconv.Itoa(used))
	header.Set("X-RateLimit-Reset", strconv.FormatInt(w.reset.Unix(), 10))
	header.Set("X-RateLimit-Resource", "core")
	if w.used > rateLimit {
		return &apiError{
			status:  http.StatusForbidden,
			message: fmt.Sprintf("API rate limit exceeded for %s.", strings.ReplaceAll(key, ":", " ID ")),
			docURL:  "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits",
		}
	}
	return nil
}

func newToken() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 36)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "ghs_" + string(b)
}

// POST /app/installations/{installation_id}/access_tokens
func (s *Server) createAccessToken(c *call) (int, any, error) {
	id, err := strconv.ParseInt(c.param("installation_id"), 10, 64)
	if err != nil {
		return 0, nil, errNotFound()
	}
	inst, ok := s.installations[id]
	if !ok {
		return 0, nil, errNotFound()
	}
	// ghinstallation sends "null"; callers may narrow repositories or
	// permissions, which the emulator accepts and does not enforce.
	var req struct {
		Repositories []string `json:"repositories"`
	}
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	token := newToken()
	expires := s.authNow().Add(tokenTTL).UTC().Truncate(time.Second)
	s.tokens[token] = &accessToken{installation: inst.id, expiresAt: expires}
	return http.StatusCreated, obj{
		"token":                token,
		"expires_at":           expires.Format(time.RFC3339),
		"permissions":          appPermissions(),
		"repository_selection": "all",
	}, nil
}

func (s *Server) installationJSON(inst *installation) obj {
	acct := s.accountLocked(inst.account, kindOrg)
	return obj{
		"id":                        inst.id,
		"node_id":                   nodeID("IntegrationInstallation", inst.id),
		"account":                   s.userJSON(inst.account),
		"repository_selection":      "all",
		"access_tokens_url":         fmt.Sprintf("%s/app/installations/%d/access_tokens", s.api, inst.id),
		"repositories_url":          s.api + "/installation/repositories",
		"html_url":                  fmt.Sprintf("https://github.com/organizations/%s/settings/installations/%d", inst.account, inst.id),
		"app_id":                    s.opts.AppID,
		"app_slug":                  s.appSlug(),
		"target_id":                 acct.id,
		"target_type":               acct.kind,
		"permissions":               appPermissions(),
		"events":                    appEvents,
		"created_at":                stamp(inst.createdAt),
		"updated_at":                stamp(inst.createdAt),
		"single_file_name":          nil,
		"has_multiple_single_files": false,
		"single_file_paths":         []string{},
		"suspended_by":              nil,
		"suspended_at":              nil,
	}
}

func (s *Server) appSlug() string { return strings.TrimSuffix(s.opts.BotLogin, "[bot]") }

// GET /app
func (s *Server) getApp(*call) (int, any, error) {
	return http.StatusOK, s.appJSON(), nil
}

// GET /app/installations
func (s *Server) listInstallations(c *call) (int, any, error) {
	out := make([]obj, 0, len(s.installations))
	for _, inst := range sortedInstallations(s.installations) {
		out = append(out, s.installationJSON(inst))
	}
	return http.StatusOK, paginate(s, c, out), nil
}

// GET /app/installations/{installation_id}
func (s *Server) getInstallation(c *call) (int, any, error) {
	id, err := strconv.ParseInt(c.param("installation_id"), 10, 64)
	if err != nil {
		return 0, nil, errNotFound()
	}
	inst, ok := s.installations[id]
	if !ok {
		return 0, nil, errNotFound()
	}
	return http.StatusOK, s.installationJSON(inst), nil
}

// GET /repos/{owner}/{repo}/installation, /orgs/{org}/installation,
// /users/{username}/installation: the installation on the owning account.
func (s *Server) findInstallation(c *call) (int, any, error) {
	account := c.param("owner") + c.param("org") + c.param("username") // one of them is set
	if c.param("repo") != "" {
		if _, ok := s.repos[strings.ToLower(account+"/"+c.param("repo"))]; !ok {
			return 0, nil, errNotFound()
		}
	}
	inst := s.installationForLocked(account)
	if inst == nil {
		return 0, nil, errNotFound()
	}
	return http.StatusOK, s.installationJSON(inst), nil
}

func (s *Server) installationForLocked(account string) *installation {
	for _, inst := range sortedInstallations(s.installations) {
		if strings.EqualFold(inst.account, account) {
			return inst
		}
	}
	return nil
}

// GET /installation/repositories
func (s *Server) listInstallationRepos(c *call) (int, any, error) {
	var repos []obj
	for _, r := range s.sortedReposLocked() {
		if strings.EqualFold(r.owner, c.inst.account) {
			repos = append(repos, s.repoJSON(r))
		}
	}
	page := paginate(s, c, repos)
	return http.StatusOK, obj{"total_count": len(repos), "repository_selection": "all", "repositories": page}, nil
}
