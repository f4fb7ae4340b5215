// Package httpprobe checks that a health URL answers, for preflight.
package httpprobe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Prober GETs health URLs.
type Prober struct {
	Client *http.Client
}

// New returns a prober whose every probe gives up after timeout.
func New(timeout time.Duration) *Prober {
	return &Prober{Client: &http.Client{
		Timeout: timeout,
		// A health URL that redirects is followed at most a few times.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}}
}

// Probe reports an error unless url answers a 2xx.
func (p *Prober) Probe(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "migratebot-preflight")
	resp, err := p.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// Read a little so the connection can be reused; the body is not used.
	_, _ = io.CopyN(io.Discard, resp.Body, 4096)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}
