package traffic

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// sessions are the status page's logins: a random token in an HttpOnly,
// SameSite=Strict cookie stands for the admin key, so the key itself is
// typed once and never kept by the browser. Bounded: the oldest go first.
type sessions struct {
	mu     sync.Mutex
	tokens map[string]time.Time // token -> expiry
	ttl    time.Duration
	max    int
}

const sessionCookie = "tandem_session"

func newSessions() *sessions {
	return &sessions{tokens: map[string]time.Time{}, ttl: 12 * time.Hour, max: 1000}
}

// create returns a new token valid until now+ttl.
func (s *sessions) create(now time.Time) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune(now)
	s.tokens[tok] = now.Add(s.ttl)
	return tok
}

// valid reports whether tok is a live session. Tokens are random and
// looked up in a map; the map lookup does not leak a key's bytes.
func (s *sessions) valid(tok string, now time.Time) bool {
	if tok == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[tok]
	return ok && now.Before(exp)
}

func (s *sessions) end(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, tok)
}

// prune drops expired tokens and, past max, the soonest to expire.
func (s *sessions) prune(now time.Time) {
	for t, exp := range s.tokens {
		if !now.Before(exp) {
			delete(s.tokens, t)
		}
	}
	for len(s.tokens) >= s.max {
		var oldest string
		var at time.Time
		for t, exp := range s.tokens {
			if oldest == "" || exp.Before(at) {
				oldest, at = t, exp
			}
		}
		delete(s.tokens, oldest)
	}
}
