package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client talks to one region's package endpoints with its master key.
type Client struct {
	Region string // for messages
	URL    string // the region's admin base URL
	Key    string // master key (x-functions-key)
	HTTP   *http.Client
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Push uploads an archive as app's new version and waits until the region
// serves it (the old version drained).
func (c *Client) Push(ctx context.Context, app string, p *Packed, deployedAt time.Time) (DeployResult, error) {
	req, err := c.request(ctx, http.MethodPut, "/admin/apps/"+url.PathEscape(app)+"/package", bytes.NewReader(p.Archive))
	if err != nil {
		return DeployResult{}, err
	}
	req.Header.Set("Content-Type", "application/gzip")
	req.Header.Set(HeaderVersion, p.Version)
	req.Header.Set(HeaderDeployedAt, deployedAt.UTC().Format(time.RFC3339Nano))
	var out DeployResult
	return out, c.do(req, "deploy "+app, &out)
}

// Packages lists the region's current packages.
func (c *Client) Packages(ctx context.Context) ([]PackageStatus, error) {
	req, err := c.request(ctx, http.MethodGet, "/admin/packages", nil)
	if err != nil {
		return nil, err
	}
	var out []PackageStatus
	return out, c.do(req, "list packages", &out)
}

// Archive downloads app's current archive and its version and deploy time.
func (c *Client) Archive(ctx context.Context, app string) (*Packed, time.Time, error) {
	req, err := c.request(ctx, http.MethodGet, "/admin/apps/"+url.PathEscape(app)+"/package/archive", nil)
	if err != nil {
		return nil, time.Time{}, err
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("region %s: download %s: %w", c.Region, app, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, time.Time{}, c.failure(resp, "download "+app)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("region %s: download %s: %w", c.Region, app, err)
	}
	at, err := parseDeployedAt(resp.Header.Get(HeaderDeployedAt))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("region %s: download %s: %w", c.Region, app, err)
	}
	return &Packed{Archive: b, Version: resp.Header.Get(HeaderVersion)}, at, nil
}

// Health is the part of a region's GET /healthz the CLI reads.
type Health struct {
	Region string `json:"region"`
	Role   string `json:"role"`
	Epoch  uint64 `json:"epoch"`
}

// Health reads the region's /healthz (no key needed; any status).
func (c *Client) Health(ctx context.Context) (Health, error) {
	req, err := c.request(ctx, http.MethodGet, "/healthz", nil)
	if err != nil {
		return Health{}, err
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return Health{}, fmt.Errorf("region %s: health: %w", c.Region, err)
	}
	defer resp.Body.Close()
	var h Health
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&h); err != nil {
		return Health{}, fmt.Errorf("region %s: health: %w", c.Region, err)
	}
	return h, nil
}

func (c *Client) request(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.URL, "/")+path, body)
	if err != nil {
		return nil, fmt.Errorf("region %s: %w", c.Region, err)
	}
	req.Header.Set("x-functions-key", c.Key)
	return req, nil
}

// do sends req and decodes a 200 JSON answer into out.
func (c *Client) do(req *http.Request, what string, out any) error {
	resp, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("region %s: %s: %w", c.Region, what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c.failure(resp, what)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out); err != nil {
		return fmt.Errorf("region %s: %s: decode answer: %w", c.Region, what, err)
	}
	return nil
}

// failure turns a non-200 answer into an error carrying its message.
func (c *Client) failure(resp *http.Response, what string) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(raw))
	if json.Unmarshal(raw, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	return fmt.Errorf("region %s: %s: %s: %s", c.Region, what, resp.Status, msg)
}
