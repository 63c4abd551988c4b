package traffic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tandemhq/tandem/internal/role"
)

// staleError is a region refusing a role because it holds an equal or
// newer epoch; Current is the state it reported.
type staleError struct{ Current role.State }

func (e *staleError) Error() string {
	return fmt.Sprintf("region refused: it is %s at epoch %d", e.Current.Role, e.Current.Epoch)
}

// roleClient tells regions their role through POST /admin/role, naming
// the traffic manager that decided (decider).
type roleClient struct {
	http    *http.Client
	decider string
}

func newRoleClient() *roleClient {
	return &roleClient{http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute}}}
}

// errUnauthorized is a region refusing the admin key (401): its master key
// was rotated and the key file or variable not yet updated here.
var errUnauthorized = errors.New("the region refuses the admin key")

// post sends req to e's admin API. A 409 becomes a *staleError. A 401
// rereads the region's key and, when it changed, tries once more.
func (c *roleClient) post(ctx context.Context, e *endpoint, req role.Request, timeout time.Duration) (role.State, error) {
	s, err := c.postOnce(ctx, e, req, timeout)
	if errors.Is(err, errUnauthorized) && e.reloadKey() {
		return c.postOnce(ctx, e, req, timeout)
	}
	return s, err
}

func (c *roleClient) postOnce(ctx context.Context, e *endpoint, req role.Request, timeout time.Duration) (role.State, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if req.Decider == "" {
		req.Decider = c.decider
	}
	body, err := json.Marshal(req)
	if err != nil {
		return role.State{}, fmt.Errorf("role post %s: %w", e.name(), err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, joinURL(e.cfg.AdminURL, "/admin/role"), bytes.NewReader(body))
	if err != nil {
		return role.State{}, fmt.Errorf("role post %s: %w", e.name(), err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("x-functions-key", e.adminKey())
	resp, err := c.http.Do(hr)
	if err != nil {
		return role.State{}, fmt.Errorf("role post %s: %w", e.name(), err)
	}
	defer resp.Body.Close()
	s, err := decodeRoleReply(e.name(), resp)
	if err != nil {
		return s, fmt.Errorf("role post: %w", err)
	}
	return s, nil
}

func decodeRoleReply(name string, resp *http.Response) (role.State, error) {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return role.State{}, fmt.Errorf("region %s: read reply: %w", name, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		var s role.State
		if err := json.Unmarshal(raw, &s); err != nil {
			return role.State{}, fmt.Errorf("region %s: decode reply: %w", name, err)
		}
		return s, nil
	case http.StatusUnauthorized:
		return role.State{}, fmt.Errorf("region %s: %w (401: rotate the key file or variable named in the topology too)", name, errUnauthorized)
	case http.StatusConflict:
		var v struct {
			Current role.State `json:"current"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return role.State{}, fmt.Errorf("region %s: decode 409: %w", name, err)
		}
		return v.Current, fmt.Errorf("region %s: %w", name, &staleError{Current: v.Current})
	default:
		return role.State{}, fmt.Errorf("region %s: %s: %s", name, resp.Status, bytes.TrimSpace(raw))
	}
}

func asStale(err error) (*staleError, bool) {
	var se *staleError
	ok := errors.As(err, &se)
	return se, ok
}

// get reads e's current role through GET /admin/role.
func (c *roleClient) get(ctx context.Context, e *endpoint, timeout time.Duration) (role.State, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, joinURL(e.cfg.AdminURL, "/admin/role"), nil)
	if err != nil {
		return role.State{}, fmt.Errorf("role get %s: %w", e.name(), err)
	}
	hr.Header.Set("x-functions-key", e.adminKey())
	resp, err := c.http.Do(hr)
	if err != nil {
		return role.State{}, fmt.Errorf("role get %s: %w", e.name(), err)
	}
	defer resp.Body.Close()
	s, err := decodeRoleReply(e.name(), resp)
	if err != nil {
		return s, fmt.Errorf("role get: %w", err)
	}
	return s, nil
}
