package table

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
)

const accountKind = "TA"

// Account is an app's storage account: the name is the app's name, the key
// a random 64-byte key in base64 (like an Azure account key).
type Account struct {
	Name string `json:"name"`
	Key  string `json:"key"`
	// Path is the account's path on the region ("/tables/<app>").
	Path string `json:"-"`
}

// TableEndpoint is the account's table endpoint under the region's base URL
// ("http://127.0.0.1:7071" -> "http://127.0.0.1:7071/tables/<app>").
func (a Account) TableEndpoint(baseURL string) string {
	return strings.TrimRight(baseURL, "/") + a.Path
}

// ConnectionString is an Azure Storage connection string for the account;
// the aztables SDK (NewServiceClientFromConnectionString) and the other
// Azure SDKs accept it.
func (a Account) ConnectionString(baseURL string) string {
	scheme := "http"
	if strings.HasPrefix(baseURL, "https:") {
		scheme = "https"
	}
	return "DefaultEndpointsProtocol=" + scheme + ";AccountName=" + a.Name + ";AccountKey=" + a.Key +
		";TableEndpoint=" + a.TableEndpoint(baseURL) + ";"
}

// EnsureAccount returns the app's account, creating it with a new key the
// first time.
func (s *Service) EnsureAccount(ctx context.Context, app string) (Account, error) {
	a, err := s.ensureAccount(ctx, app)
	if err != nil {
		return Account{}, fmt.Errorf("ensure account %s: %w", app, err)
	}
	return a, nil
}

func (s *Service) ensureAccount(ctx context.Context, app string) (Account, error) {
	if err := validApp(app); err != nil {
		return Account{}, err
	}
	kv, err := s.sysBucket(ctx, accountKind)
	if err != nil {
		return Account{}, err
	}
	// A bucket just created on a cluster may not answer yet (no stream
	// leader: no responders): reading is safe to repeat.
	var a Account
	err = broker.RetryTransient(ctx, "read storage account "+app, func(ctx context.Context) error {
		a, err = s.loadAccount(ctx, kv, app)
		return err
	})
	if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return a, err
	}
	a, data, err := s.newAccount(app)
	if err != nil {
		return Account{}, err
	}
	// Creating is safe to repeat: a try that stored the account but lost
	// its answer makes the next one find it (ErrKeyExists, loaded below).
	err = broker.RetryTransient(ctx, "create storage account "+app, func(ctx context.Context) error {
		_, err := kv.Create(ctx, app, data)
		return err
	})
	if errors.Is(err, jetstream.ErrKeyExists) {
		return s.loadAccount(ctx, kv, app) // created concurrently
	} else if err != nil {
		return Account{}, err
	}
	s.log.Info("storage account created", "app", app)
	return a, nil
}

func (s *Service) newAccount(app string) (Account, []byte, error) {
	key := make([]byte, 64)
	if _, err := rand.Read(key); err != nil {
		return Account{}, nil, err
	}
	a := Account{Name: app, Key: base64.StdEncoding.EncodeToString(key), Path: s.accountPath(app)}
	data, err := json.Marshal(a)
	return a, data, err
}

func (s *Service) accountPath(app string) string {
	return strings.TrimSuffix(s.prefix, "/") + "/" + app
}

func (s *Service) loadAccount(ctx context.Context, kv bucket, app string) (Account, error) {
	entry, err := kv.Get(ctx, app)
	if err != nil {
		return Account{}, err
	}
	var a Account
	if err := json.Unmarshal(entry.Value(), &a); err != nil {
		return Account{}, fmt.Errorf("account %s: %w", app, err)
	}
	a.Path = s.accountPath(app)
	return a, nil
}

// AccountKey returns the decoded key of the app's existing storage
// account: a storage.KeyFunc, so the Queue and Blob REST services
// authenticate with the same account and key as the Table service. An
// app without an account is ErrAuth (403 AuthenticationFailed); in a
// secondary whose replica lacks it yet, a 503 ServerBusy.
func (s *Service) AccountKey(ctx context.Context, app string) ([]byte, error) {
	return s.accountKey(ctx, app)
}

// accountKey returns the decoded key of an existing account (cached), or
// ErrAuth if the app has no account.
func (s *Service) accountKey(ctx context.Context, app string) ([]byte, error) {
	if k, ok := s.keys.Load(app); ok {
		return k.([]byte), nil
	}
	if validApp(app) != nil {
		return nil, errAuth("no storage account %q", app)
	}
	kv, err := s.sysBucket(ctx, accountKind)
	if err != nil {
		return nil, err
	}
	a, err := s.loadAccount(ctx, kv, app)
	if errors.Is(err, jetstream.ErrKeyNotFound) && (s.readOnly() || !s.settled()) {
		return nil, errAccountNotReplicated(app)
	}
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, errAuth("no storage account %q", app)
	}
	if err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(a.Key)
	if err != nil {
		return nil, fmt.Errorf("account %s: stored key is not base64: %w", app, err)
	}
	s.keys.Store(app, key)
	return key, nil
}

// errAccountNotReplicated answers a request to a secondary whose replica
// does not hold the account (yet): the primary may well have it, so the
// answer is "try again or elsewhere", not "no such account".
func errAccountNotReplicated(app string) *Error {
	e := newError(ErrReadOnly, http.StatusServiceUnavailable, "ServerBusy",
		"storage account %q is not in this secondary region's replica yet; retry, or ask the primary region", app)
	e.RetryAfter = ReplicaRetryAfter
	return e
}
