package region

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tandemhq/tandem/internal/blob"
)

// An app's storage account serves the Table (/tables), Queue (/queues)
// and Blob (/blobs) REST APIs with one key. Its connection string names
// the deployment's public address when the region knows it (--public-url,
// a traffic manager's), so the same string works through a failover, and
// handlers get it as AzureWebJobsStorage unless the app points elsewhere.

// TablePathPrefix is where the Table REST endpoint is mounted.
const TablePathPrefix = "/tables"

// StorageInfo is GET /admin/apps/{app}/storage: the app's storage account
// and a connection string with its table, queue and blob endpoints.
type StorageInfo struct {
	Account          string `json:"account"`
	Key              string `json:"key"`
	TableEndpoint    string `json:"tableEndpoint"`
	QueueEndpoint    string `json:"queueEndpoint"`
	BlobEndpoint     string `json:"blobEndpoint"`
	ConnectionString string `json:"connectionString"`
}

// newStorageInfo describes account app with key under base
// ("http://host:port").
func newStorageInfo(app, key, base string) StorageInfo {
	base = strings.TrimRight(base, "/")
	scheme := "http"
	if strings.HasPrefix(base, "https:") {
		scheme = "https"
	}
	si := StorageInfo{Account: app, Key: key, TableEndpoint: base + TablePathPrefix + "/" + app,
		QueueEndpoint: base + QueuePathPrefix + "/" + app, BlobEndpoint: base + blob.DefaultPathPrefix + "/" + app}
	si.ConnectionString = "DefaultEndpointsProtocol=" + scheme + ";AccountName=" + app + ";AccountKey=" + key +
		";TableEndpoint=" + si.TableEndpoint + ";QueueEndpoint=" + si.QueueEndpoint + ";BlobEndpoint=" + si.BlobEndpoint + ";"
	return si
}

// serveStorage returns the app's storage account, creating it on first use.
func (r *Region) serveStorage(w http.ResponseWriter, req *http.Request) {
	app := req.PathValue("app")
	a, err := r.svc.tables.EnsureAccount(req.Context(), app)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	base := r.opts.PublicURL
	if base == "" {
		base = requestBase(req)
	}
	writeJSON(w, http.StatusOK, newStorageInfo(a.Name, a.Key, base))
}

// defaultStorage reports whether an app's AzureWebJobsStorage leaves the
// choice to the platform: missing, empty, or the storage emulator's
// shortcut (an app written for Azurite runs unchanged).
func defaultStorage(v string, set bool) bool {
	v = strings.TrimSpace(v)
	return !set || v == "" || strings.EqualFold(strings.TrimSuffix(v, ";"), "UseDevelopmentStorage=true")
}

// storageEnv is AzureWebJobsStorage for app's handlers when its settings
// leave it to the platform, else nothing. The account is read from this
// region's store (a secondary's replica included); a region that does not
// have it yet gives none and logs why.
func (r *Region) storageEnv(app string, values map[string]string) []string {
	v, set := values["AzureWebJobsStorage"]
	if !defaultStorage(v, set) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	key, err := r.svc.tables.AccountKey(ctx, app)
	if err != nil {
		r.log.Warn("AzureWebJobsStorage not set for the handler: no storage account yet", "app", app, "err", err)
		return nil
	}
	base := r.opts.PublicURL
	if base == "" {
		base = r.URL()
	}
	return []string{"AzureWebJobsStorage=" + newStorageInfo(app, base64.StdEncoding.EncodeToString(key), base).ConnectionString}
}

// checkPublicURL validates Options.PublicURL.
func checkPublicURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return fmt.Errorf("--public-url %q: want http(s)://host[:port] with no path", raw)
	}
	return nil
}
