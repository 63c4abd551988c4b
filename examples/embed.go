// Package examples holds the example apps, embedded so that `tandem up`
// runs them from any folder with the binary alone: their host.json,
// function.json and settings files here, their Go handlers as the
// packages hellogo and drillapp (which the binary serves itself), the
// Python handler as a file.
package examples

import "embed"

// Apps are the example app folders, without built handlers.
//
//go:embed hello-go/host.json hello-go/local.settings.json hello-go/*/function.json
//go:embed hello-python/host.json hello-python/local.settings.json hello-python/handler.py hello-python/*/function.json
//go:embed drill/host.json drill/local.settings.json drill/*/function.json
var Apps embed.FS

// Order is the order `tandem up` loads them in: the first is the default
// app (the one a Host naming no app reaches).
var Order = []string{"hello-go", "hello-python", "drill"}

// Go names the examples whose handler is a Go package served by the
// tandem binary; the others need their own runtime (python3).
var Go = map[string]bool{"hello-go": true, "drill": true}
