package keys

import (
	"fmt"
	"net/http"
	"strings"
)

// Level is an Azure Functions authorization level. The values follow
// Azure's AuthorizationLevel enum order, but levels are not a plain
// ranking: see Satisfies.
type Level int

// The levels. No key grants User (App Service authentication), so only the
// master key satisfies it.
const (
	Anonymous Level = iota
	User
	Function
	System
	Admin
)

var levelNames = [...]string{"anonymous", "user", "function", "system", "admin"}

func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel parses a function.json authLevel, case-insensitively. An empty
// string is the Azure default, function.
func ParseLevel(s string) (Level, error) {
	if s == "" {
		return Function, nil
	}
	for i, n := range levelNames {
		if strings.EqualFold(s, n) {
			return Level(i), nil
		}
	}
	return Anonymous, fmt.Errorf("authLevel %q: use anonymous, function, system, admin or user", s)
}

// Satisfies reports whether a caller granted l may call something that
// requires required. It is the Azure host's rule (AuthUtility
// PrincipalHasAuthLevelClaim): anonymous needs nothing, the master key
// (Admin) satisfies everything, and otherwise the level must be the one
// required, so a system key does not open a function-level function.
func (l Level) Satisfies(required Level) bool {
	return required == Anonymous || l == Admin || l == required
}

// HeaderName is the request header carrying a key.
const HeaderName = "x-functions-key"

// Presented returns the key a request presents: the x-functions-key header
// when the request has one (even empty, as in the Azure host), otherwise
// the code query parameter.
func Presented(r *http.Request) string {
	if v, ok := r.Header[http.CanonicalHeaderKey(HeaderName)]; ok {
		if len(v) == 0 {
			return ""
		}
		return v[0]
	}
	return r.URL.Query().Get("code")
}
