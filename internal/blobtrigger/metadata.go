package blobtrigger

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/tandemhq/tandem/internal/blob"
	"github.com/tandemhq/tandem/internal/hostjson"
)

// Metadata is a blob trigger's custom-handler Metadata as the host builds
// it: the binding data of BlobTriggerBinding.CreateBindingData (BlobTrigger,
// Uri, Properties, Metadata, then each path capture, overriding a built-in
// of the same name case-insensitively) plus sys, each value through
// GetHttpScriptInvocationContextValue. So: no BlobTrigger (keys ending in
// "trigger" are left out of Metadata; {BlobTrigger} stays an expression),
// Uri as a quoted JSON string (Json.NET will not make a JObject of a Uri),
// Properties and Metadata as objects, captures as quoted strings.
func Metadata(method string, now time.Time, uri string, b *blob.Blob, values map[string]string) map[string]any {
	md := map[string]any{
		"Uri":        hostjson.String(uri),
		"Properties": Properties(b),
		"Metadata":   metadataObject(b.Metadata),
		"sys":        hostjson.Sys(method, now),
	}
	for k, v := range values {
		setFoldAny(md, k, hostjson.String(v))
	}
	for k := range md {
		if strings.HasSuffix(strings.ToLower(k), "trigger") {
			delete(md, k)
		}
	}
	return md
}

// Expressions are the binding-expression values a blob trigger adds for
// other bindings: {BlobTrigger} = "container/name", {Uri} and each
// capture, unquoted.
func Expressions(path, uri string, values map[string]string) map[string]string {
	e := map[string]string{"BlobTrigger": path, "Uri": uri}
	for k, v := range values {
		setFold(e, k, v)
	}
	return e
}

func setFoldAny(md map[string]any, key string, v any) {
	for k := range md {
		if strings.EqualFold(k, key) {
			md[k] = v
			return
		}
	}
	md[key] = v
}

func metadataObject(m map[string]string) json.RawMessage {
	if m == nil {
		m = map[string]string{}
	}
	out, _ := json.Marshal(m)
	return out
}

// properties is Azure.Storage.Blobs.Models.BlobProperties as JObject.FromObject
// writes it: every public property in declaration order, enums as numbers,
// DateTimeOffsets as dates (default ones as 0001-01-01), byte[] as base64,
// ETag (a struct without public properties) as {}.
type properties struct {
	LastModified                         json.RawMessage
	CreatedOn                            json.RawMessage
	Metadata                             json.RawMessage
	ObjectReplicationDestinationPolicyID *string `json:"ObjectReplicationDestinationPolicyId"`
	ObjectReplicationSourceProperties    *[]any
	BlobType                             int
	CopyCompletedOn                      json.RawMessage
	CopyStatusDescription                *string
	CopyID                               *string `json:"CopyId"`
	CopyProgress                         *string
	CopySource                           *string
	CopyStatus                           int
	BlobCopyStatus                       *int
	IsIncrementalCopy                    bool
	DestinationSnapshot                  *string
	LeaseDuration                        int
	LeaseState                           int
	LeaseStatus                          int
	ContentLength                        int64
	ContentType                          *string
	ETag                                 struct{}
	ContentHash                          []byte
	ContentEncoding                      *string
	ContentDisposition                   *string
	ContentLanguage                      *string
	CacheControl                         *string
	BlobSequenceNumber                   int64
	AcceptRanges                         string
	BlobCommittedBlockCount              int
	IsServerEncrypted                    bool
	EncryptionKeySha256                  *string
	EncryptionScope                      *string
	AccessTier                           string
	AccessTierInferred                   bool
	ArchiveStatus                        *string
	AccessTierChangedOn                  json.RawMessage
	VersionID                            *string `json:"VersionId"`
	IsLatestVersion                      bool
	TagCount                             int64
	ExpiresOn                            json.RawMessage
	IsSealed                             bool
	RehydratePriority                    *string
	LastAccessed                         json.RawMessage
	ImmutabilityPolicy                   immutability
	HasLegalHold                         bool
}

type immutability struct {
	ExpiresOn  *string
	PolicyMode *string
}

// Properties is the trigger's Properties metadata value.
func Properties(b *blob.Blob) json.RawMessage {
	never := hostjson.OffsetTime(time.Time{})
	p := properties{
		LastModified: hostjson.OffsetTime(b.Modified), CreatedOn: hostjson.OffsetTime(b.Created),
		Metadata: metadataObject(b.Metadata), CopyCompletedOn: never, LeaseStatus: 1, // Unlocked
		ContentLength: b.Size, ContentType: opt(contentType(b.Props.ContentType)), ContentHash: b.Props.ContentMD5,
		ContentEncoding: opt(b.Props.ContentEncoding), ContentDisposition: opt(b.Props.ContentDisposition),
		ContentLanguage: opt(b.Props.ContentLanguage), CacheControl: opt(b.Props.CacheControl),
		AcceptRanges: "bytes", IsServerEncrypted: true, AccessTier: "Hot", AccessTierInferred: true,
		AccessTierChangedOn: never, ExpiresOn: never, LastAccessed: never,
	}
	out, _ := json.Marshal(p)
	return out
}

func contentType(t string) string {
	if t == "" {
		return "application/octet-stream" // what Azure answers for a blob stored without one
	}
	return t
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
