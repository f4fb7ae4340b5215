package handlers

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"

	goslack "github.com/slack-go/slack"
)

// maxBody bounds what the bot reads of any request.
const maxBody = 1 << 20

// verifySlack reads the body and checks X-Slack-Signature against it, with
// slack-go's five-minute replay window. A bad request gets 401 and is
// logged without its body (it may carry tokens).
func verifySlack(w http.ResponseWriter, r *http.Request, secret string, log *slog.Logger) ([]byte, bool) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return nil, false
	}
	sv, err := goslack.NewSecretsVerifier(r.Header, secret)
	if err == nil {
		_, err = sv.Write(body)
	}
	if err == nil {
		err = sv.Ensure()
	}
	if err != nil {
		log.WarnContext(r.Context(), "rejected a Slack request", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err.Error(), "bytes", len(body))
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

// withBody gives r its body back after it was read.
func withBody(r *http.Request, body []byte) *http.Request {
	r.Body = io.NopCloser(bytes.NewReader(body))
	return r
}

func joinNames(names []string) string { return strings.Join(names, ", ") }
