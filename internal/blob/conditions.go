package blob

import (
	"net/http"
	"strings"
	"time"
)

// Conditions are a request's conditional headers (the zero value: none).
type Conditions = conditions

// conditions are a request's conditional headers.
type conditions struct {
	ifMatch, ifNoneMatch string
	modifiedSince        time.Time // If-Modified-Since, zero if absent
	unmodifiedSince      time.Time // If-Unmodified-Since, zero if absent
}

func parseConditions(h http.Header) (conditions, error) {
	c := conditions{ifMatch: strings.TrimSpace(h.Get("If-Match")), ifNoneMatch: strings.TrimSpace(h.Get("If-None-Match"))}
	var err error
	if c.modifiedSince, err = parseDateHeader(h, "If-Modified-Since"); err != nil {
		return c, err
	}
	c.unmodifiedSince, err = parseDateHeader(h, "If-Unmodified-Since")
	return c, err
}

func parseDateHeader(h http.Header, name string) (time.Time, error) {
	v := h.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return t, invalid("InvalidHeaderValue", "header %s: %q is not an HTTP date", name, v)
	}
	return t, nil
}

func (c conditions) any() bool {
	return c.ifMatch != "" || c.ifNoneMatch != "" || !c.modifiedSince.IsZero() || !c.unmodifiedSince.IsZero()
}

// state is what conditions are evaluated against.
type state struct {
	exists   bool
	etag     string
	modified time.Time
}

// check evaluates the conditions as Azure does. For reads (GET, HEAD) a
// failed If-None-Match or If-Modified-Since is 304 Not Modified; for
// writes every failure is 412 ConditionNotMet, except If-None-Match: * on
// an existing blob, 409 BlobAlreadyExists.
func (c conditions) check(st state, read bool) error {
	mod := st.modified.Truncate(time.Second)
	switch {
	case c.ifMatch != "" && (!st.exists || !etagMatches(c.ifMatch, st.etag)):
		return errConditionNotMet("If-Match %s does not match the ETag %s", c.ifMatch, orNone(st.etag))
	case !c.unmodifiedSince.IsZero() && st.exists && mod.After(c.unmodifiedSince):
		return errConditionNotMet("the resource was modified at %s, after If-Unmodified-Since", st.modified.Format(http.TimeFormat))
	case c.ifNoneMatch == "*" && st.exists && !read:
		return newError(ErrConflict, http.StatusConflict, "BlobAlreadyExists", "the blob already exists (If-None-Match: *)")
	case c.ifNoneMatch != "" && st.exists && etagMatches(c.ifNoneMatch, st.etag):
		return notModified(read, "If-None-Match %s matches the ETag", c.ifNoneMatch)
	case !c.modifiedSince.IsZero() && st.exists && !mod.After(c.modifiedSince):
		return notModified(read, "the resource was not modified since %s", c.modifiedSince.Format(http.TimeFormat))
	}
	return nil
}

func notModified(read bool, format string, args ...any) error {
	if read {
		return newError(ErrNotModified, http.StatusNotModified, "ConditionNotMet", format, args...)
	}
	return errConditionNotMet(format, args...)
}

// etagMatches compares an If-Match/If-None-Match list with an ETag.
func etagMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || t == etag || strings.Trim(t, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "(none: the resource does not exist)"
	}
	return s
}
