package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Scopes of API keys, as VerneMQ names them; mgmt guards /api/v1.
var Scopes = []string{"status", "mgmt", "metrics", "health", "api2", "httppub"}

// APIKey is one key of the HTTP API.
type APIKey struct {
	Key     string    `json:"key"`
	Scope   string    `json:"scope"`
	Expires time.Time `json:"expires,omitzero"` // zero = never
}

// Expired reports whether k has expired at now.
func (k APIKey) Expired(now time.Time) bool { return !k.Expires.IsZero() && !now.Before(k.Expires) }

// KeyStore keeps API keys in one JSON file (platform_data_dir/api-keys).
type KeyStore struct {
	path string
	mu   sync.Mutex
	keys []APIKey
}

// OpenKeyStore loads the keys of path; a missing file is an empty store.
func OpenKeyStore(path string) (*KeyStore, error) {
	s := &KeyStore{path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("api keys: %w (check platform_data_dir)", err)
	}
	if err := json.Unmarshal(b, &s.keys); err != nil {
		return nil, fmt.Errorf("api keys: %s is not a key file: %v (move it away to start with no keys)", path, err)
	}
	return s, nil
}

// save writes the keys atomically, readable by the node's user only; caller holds mu.
func (s *KeyStore) save(keys []APIKey) error {
	b, err := json.MarshalIndent(keys, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return fmt.Errorf("api keys: %w", err)
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("api keys: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("api keys: %w", err)
	}
	s.keys = keys
	return nil
}

// Add stores k; a key already present with the same scope is replaced.
func (s *KeyStore) Add(k APIKey) error {
	if k.Scope == "" {
		k.Scope = "mgmt"
	}
	if !slices.Contains(Scopes, k.Scope) {
		return fmt.Errorf("scope %q is not one of %v", k.Scope, Scopes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := slices.DeleteFunc(slices.Clone(s.keys), func(o APIKey) bool { return o.Key == k.Key && o.Scope == k.Scope })
	return s.save(append(keys, k))
}

// Create makes a new random key.
func (s *KeyStore) Create(scope string, expires time.Time) (string, error) {
	key := newKey()
	return key, s.Add(APIKey{Key: key, Scope: scope, Expires: expires})
}

// Delete removes key (of scope, or of every scope when scope is empty); false if absent.
func (s *KeyStore) Delete(key, scope string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := slices.DeleteFunc(slices.Clone(s.keys), func(o APIKey) bool { return o.Key == key && (scope == "" || o.Scope == scope) })
	if len(keys) == len(s.keys) {
		return false, nil
	}
	return true, s.save(keys)
}

// List returns the keys.
func (s *KeyStore) List() []APIKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.keys)
}

// Valid reports whether key is an unexpired key of scope.
func (s *KeyStore) Valid(key, scope string, now time.Time) bool {
	if key == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.Scope == scope && subtle.ConstantTimeCompare([]byte(k.Key), []byte(key)) == 1 && !k.Expired(now) {
			return true
		}
	}
	return false
}

// newKey returns a random key of 26 base32 characters (130 bits).
func newKey() string { return rand.Text() }
