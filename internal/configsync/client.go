package configsync

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls one region's sync admin API with its master key.
type Client struct {
	Region string // for messages
	URL    string // the region's admin base URL
	Key    string // the region's master key
	HTTP   *http.Client
}

// Snapshot reads the region's configuration (all apps when app is "").
func (c *Client) Snapshot(ctx context.Context, app string) (*Snapshot, error) {
	path := "/admin/sync/snapshot"
	if app != "" {
		path += "?app=" + url.QueryEscape(app)
	}
	var out Snapshot
	return &out, c.call(ctx, http.MethodGet, path, nil, "read configuration", &out)
}

// Plan asks the region what syncing it from req.Source would change.
func (c *Client) Plan(ctx context.Context, req Request) (*Result, error) {
	var out Result
	return &out, c.call(ctx, http.MethodPost, "/admin/sync/plan", req, "plan", &out)
}

// Apply syncs the region from req.Source. A partial failure returns the
// result (which changes failed) with an error.
func (c *Client) Apply(ctx context.Context, req Request) (*Result, error) {
	var out Result
	return &out, c.call(ctx, http.MethodPost, "/admin/sync/apply", req, "apply", &out)
}

// Audit reads the region's audit log.
func (c *Client) Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	v := url.Values{}
	if q.App != "" {
		v.Set("app", q.App)
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out struct {
		Entries []AuditEntry `json:"entries"`
	}
	err := c.call(ctx, http.MethodGet, "/admin/sync/audit?"+v.Encode(), nil, "read audit log", &out)
	return out.Entries, err
}

// Role reads the region's role from GET /healthz ("" when unreachable).
func (c *Client) Role(ctx context.Context) (string, error) {
	var h struct {
		Role string `json:"role"`
	}
	err := c.call(ctx, http.MethodGet, "/healthz", nil, "read role", &h)
	return h.Role, err
}

func (c *Client) call(ctx context.Context, method, path string, in any, op string, out any) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("region %s: %s: %w", c.Region, op, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.URL, "/")+path, body)
	if err != nil {
		return fmt.Errorf("region %s: %s: %w", c.Region, op, err)
	}
	req.Header.Set("x-functions-key", c.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client().Do(req)
	if err != nil {
		return fmt.Errorf("region %s: %s: %w", c.Region, op, err)
	}
	defer resp.Body.Close()
	return c.decode(resp, op, out)
}

func (c *Client) decode(resp *http.Response, op string, out any) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("region %s: %s: %w", c.Region, op, err)
	}
	if resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("region %s: %s: decode answer: %w", c.Region, op, err)
		}
		return nil
	}
	if resp.StatusCode == http.StatusInternalServerError {
		_ = json.Unmarshal(data, out) // a failed apply still lists what was applied
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(data))
	}
	return fmt.Errorf("region %s: %s: HTTP %d: %s", c.Region, op, resp.StatusCode, e.Error)
}

func (c *Client) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}
