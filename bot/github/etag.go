package github

import (
	"bytes"
	"container/list"
	"io"
	"net/http"
	"sync"
)

// Conditional requests: GitHub answers a GET carrying the ETag of what the
// client already has with 304 Not Modified, which does not count against
// the installation's rate limit. The bot reads the same files again and
// again (weights files, CODEOWNERS, PR heads), so it keeps the last 200
// answer of each GET with an ETag and asks with If-None-Match.

// etagCache is an http.RoundTripper keeping recent GET answers by URL.
type etagCache struct {
	next http.RoundTripper
	max  int

	mu      sync.Mutex
	entries map[string]*list.Element
	order   *list.List // front: most recently used
}

type cached struct {
	key    string
	etag   string
	status int
	header http.Header
	body   []byte
}

// maxCachedBody bounds one kept answer; larger ones are not kept.
const maxCachedBody = 1 << 20

func newETagCache(next http.RoundTripper, maxEntries int) *etagCache {
	return &etagCache{next: next, max: maxEntries, entries: map[string]*list.Element{}, order: list.New()}
}

func (c *etagCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.Header.Get("If-None-Match") != "" {
		return c.next.RoundTrip(req)
	}
	// The URL names the owner and repo, so answers of two installations
	// never share a key; Accept changes the representation.
	key := req.URL.String() + "\x00" + req.Header.Get("Accept")
	hit := c.get(key)
	if hit != nil {
		req = req.Clone(req.Context())
		req.Header.Set("If-None-Match", hit.etag)
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && hit != nil:
		resp.Body.Close()
		header := hit.header.Clone()
		// The rate-limit figures are the 304's, which are current.
		for k, v := range resp.Header {
			if len(k) > 11 && k[:11] == "X-Ratelimit" {
				header[k] = v
			}
		}
		return &http.Response{
			Status: http.StatusText(hit.status), StatusCode: hit.status, Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
			Header: header, Body: io.NopCloser(bytes.NewReader(hit.body)), ContentLength: int64(len(hit.body)), Request: resp.Request,
		}, nil
	case resp.StatusCode == http.StatusOK && resp.Header.Get("ETag") != "":
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxCachedBody+1))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if len(body) <= maxCachedBody {
			c.put(&cached{key: key, etag: resp.Header.Get("ETag"), status: resp.StatusCode, header: resp.Header.Clone(), body: body})
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	case resp.StatusCode == http.StatusNotFound:
		c.drop(key) // gone: forget what it was
	}
	return resp, nil
}

func (c *etagCache) get(key string) *cached {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*cached)
}

func (c *etagCache) put(e *cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[e.key]; ok {
		el.Value = e
		c.order.MoveToFront(el)
		return
	}
	c.entries[e.key] = c.order.PushFront(e)
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.entries, last.Value.(*cached).key)
	}
}

func (c *etagCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.order.Remove(el)
		delete(c.entries, key)
	}
}
