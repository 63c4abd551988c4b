package configsync

import (
	"fmt"
	"path"
	"slices"
)

// DefaultExclude are the region-local setting names used when no patterns
// are configured: the WEBSITE_* names Azure App Service sets per site and
// region (site name, host name, content share and the like).
var DefaultExclude = []string{"WEBSITE_*"}

// Exclude matches region-local setting and connection string names against
// globs in path.Match syntax ('*' does not match '/').
type Exclude struct{ patterns []string }

// NewExclude checks the patterns. Empty or nil patterns mean DefaultExclude.
func NewExclude(patterns []string) (Exclude, error) {
	if len(patterns) == 0 {
		patterns = DefaultExclude
	}
	for i, p := range patterns {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			return Exclude{}, fmt.Errorf("exclude[%d]: %q is not a valid glob (path.Match syntax)", i, p)
		}
	}
	return Exclude{patterns: slices.Clone(patterns)}, nil
}

// Match reports whether name is region-local.
func (e Exclude) Match(name string) bool {
	for _, p := range e.patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// Patterns returns the globs in use.
func (e Exclude) Patterns() []string { return slices.Clone(e.patterns) }
