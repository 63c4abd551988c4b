package invoke

import "github.com/tandemhq/tandem/internal/hostjson"

// NewGUID returns a random (version 4) GUID in its usual text form, lower
// case as .NET prints it (hostjson.NewGUID).
func NewGUID() string { return hostjson.NewGUID() }
