// Package http reads the Host of a plaintext HTTP/1.x request from the
// first bytes a client sent.
package http

import (
	"bytes"
	"errors"

	"github.com/saaslens/saaslens/pkg/extract/wiretext"
)

// ErrNeedMore means the request line and headers are not complete yet.
var ErrNeedMore = errors.New("http: request headers incomplete")

// ErrNotRequest means the bytes do not start an HTTP/1.x request.
var ErrNotRequest = errors.New("http: not an HTTP request")

var methods = [][]byte{
	[]byte("GET "), []byte("POST "), []byte("HEAD "), []byte("PUT "), []byte("DELETE "),
	[]byte("OPTIONS "), []byte("CONNECT "), []byte("PATCH "), []byte("TRACE "),
	[]byte("PROPFIND "), []byte("PROPPATCH "), []byte("MKCOL "), []byte("COPY "), []byte("MOVE "),
	[]byte("LOCK "), []byte("UNLOCK "), []byte("SEARCH "), []byte("REPORT "), []byte("NOTIFY "),
	[]byte("M-SEARCH "), []byte("SUBSCRIBE "),
}

// LooksLikeRequest reports whether b could begin a request, from as few
// bytes as have arrived.
func LooksLikeRequest(b []byte) bool {
	for _, m := range methods {
		n := min(len(b), len(m))
		if n > 0 && bytes.Equal(b[:n], m[:n]) {
			return true
		}
	}
	return false
}

// Request is what identifies the service of a request.
type Request struct {
	Method string
	// Host is the Host header (for CONNECT without one, the target), port
	// included as sent.
	Host string
}

// ParseRequest parses the request line and headers at the start of b.
func ParseRequest(b []byte) (*Request, error) {
	if !LooksLikeRequest(b) {
		return nil, ErrNotRequest
	}
	lineEnd := bytes.IndexByte(b, '\n')
	if lineEnd < 0 {
		return nil, ErrNeedMore
	}
	line := bytes.TrimRight(b[:lineEnd], "\r")
	parts := bytes.SplitN(line, []byte(" "), 3)
	if len(parts) != 3 || !bytes.HasPrefix(parts[2], []byte("HTTP/")) {
		return nil, ErrNotRequest
	}
	req := &Request{Method: string(parts[0])}
	if req.Method == "CONNECT" {
		req.Host = wiretext.Token(parts[1])
	}
	rest := b[lineEnd+1:]
	for {
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			return nil, ErrNeedMore
		}
		h := bytes.TrimRight(rest[:nl], "\r")
		rest = rest[nl+1:]
		if len(h) == 0 {
			return req, nil
		}
		colon := bytes.IndexByte(h, ':')
		if colon > 0 && bytes.EqualFold(h[:colon], []byte("host")) {
			req.Host = wiretext.Token(bytes.TrimSpace(h[colon+1:]))
			return req, nil
		}
	}
}
