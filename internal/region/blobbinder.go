package region

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tandemhq/tandem/internal/blob"
	"github.com/tandemhq/tandem/internal/funcapp"
	"github.com/tandemhq/tandem/internal/hostjson"
	"github.com/tandemhq/tandem/internal/invoke"
)

// blobBinder reads blob input bindings and writes blob outputs through
// the blob service itself (not over HTTP); an output is a blob write like
// any other, mirrored to the standbys.
type blobBinder struct {
	b *blob.Service
	r *Region
}

// HostValued: Input returns the value in the host's form already.
func (blobBinder) HostValued() bool { return true }

// Input reads the blob the binding's path names, as the host sends it to
// a custom handler: the host binds a blob input to a Stream and reads it
// by dataType, binary as byte[] (base64 in JSON), anything else as a
// UTF-8 string (a BOM dropped), serialized as a JSON string; a missing
// blob is a null stream, sent as JsonConvert.SerializeObject(null): the
// string "null".
func (b blobBinder) Input(ctx context.Context, app string, fb funcapp.Binding, e invoke.Expressions) (json.RawMessage, error) {
	container, name, err := resolveBlob(fb, e)
	if err != nil {
		return nil, err
	}
	_, content, err := b.b.ReadAll(ctx, app, container, name)
	if blob.IsNotFound(err) {
		return json.RawMessage(`"null"`), nil // JsonConvert.SerializeObject(null), carried as a string
	}
	if err != nil {
		return nil, err
	}
	if fb.DataType == "binary" {
		return hostjson.Bytes(content), nil
	}
	return hostjson.Text(string(bytes.TrimPrefix(content, []byte("\xef\xbb\xbf")))), nil
}

// Admit holds or refuses a function with a blob output before it runs.
func (b blobBinder) Admit(ctx context.Context, _ string, fb funcapp.Binding) error {
	if fb.Direction != "out" {
		return nil
	}
	return b.r.awaitWritable(ctx)
}

// Output writes the handler's value as a block blob. A JSON string is the
// blob's text (its UTF-8 bytes), with "dataType": "binary" its base64
// decoded; any other JSON value is written as compact JSON text (the
// host's JToken.ToString(Formatting.None)). The Azure host base64-decodes
// every string of a non-binary output that happens to be base64 and
// writes a binary output's string as text; Tandem does neither, as for
// queue and HTTP outputs (see internal/blobtrigger/DESIGN.md).
func (b blobBinder) Output(ctx context.Context, app string, fb funcapp.Binding, e invoke.Expressions, v json.RawMessage) error {
	container, name, err := resolveBlob(fb, e)
	if err != nil {
		return err
	}
	body, err := blobBody(fb, v)
	if err != nil {
		return err
	}
	if err := b.r.awaitWritable(ctx); err != nil {
		return err
	}
	if _, err := b.b.WriteAll(ctx, app, container, name, body, ""); err != nil {
		return fmt.Errorf("write blob %s/%s: %w", container, name, err)
	}
	return nil
}

func blobBody(fb funcapp.Binding, v json.RawMessage) ([]byte, error) {
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '"' {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fmt.Errorf("blob output: %w", err)
		}
		if fb.DataType != "binary" {
			return []byte(s), nil
		}
		out, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf(`blob output with "dataType": "binary": the value is not base64: %w`, err)
		}
		return out, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return nil, fmt.Errorf("blob output: %w", err)
	}
	return buf.Bytes(), nil
}

// resolveBlob resolves a blob binding's path ({name}, {queueTrigger},
// JSON properties, {rand-guid}, {DateTime}) into a container and a blob.
func resolveBlob(fb funcapp.Binding, e invoke.Expressions) (container, name string, err error) {
	p, err := e.Resolve(fb.Path)
	if err != nil {
		return "", "", fmt.Errorf("field \"path\": %w", err)
	}
	container, name, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if !ok || container == "" || name == "" {
		return "", "", fmt.Errorf("field \"path\": %q does not name a blob (container/blob)", p)
	}
	return container, name, nil
}
