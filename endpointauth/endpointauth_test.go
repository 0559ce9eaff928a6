package endpointauth_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/endpointauth"
)

var (
	testKey  = bytes.Repeat([]byte{7}, 32)
	otherKey = bytes.Repeat([]byte{8}, 32)
	t0       = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
)

func mint(t *testing.T, key []byte, ws, ep string, ttl time.Duration) string {
	t.Helper()
	tok, _, err := endpointauth.Mint(key, ws, ep, t0, ttl)
	if err != nil {
		t.Fatalf("Mint(%s, %s): %v", ws, ep, err)
	}
	return tok
}

func TestVerify(t *testing.T) {
	good := mint(t, testKey, "default", "credit", time.Hour)
	forged := []byte(good)
	forged[len(forged)-2] ^= 1
	tests := []struct {
		name          string
		key           []byte
		token, ws, ep string
		now           time.Time
		want          string // a part of the message; "" for no error
	}{
		{"good", testKey, good, "default", "credit", t0, ""},
		{"just before expiry", testKey, good, "default", "credit", t0.Add(time.Hour - time.Second), ""},
		{"expired", testKey, good, "default", "credit", t0.Add(time.Hour), "expired"},
		{"other endpoint", testKey, good, "default", "credit2", t0, "another endpoint"},
		{"other workspace", testKey, good, "team", "credit", t0, "another endpoint"},
		{"other key", otherKey, good, "default", "credit", t0, "not valid"},
		{"forged mac", testKey, string(forged), "default", "credit", t0, ""},
		{"other endpoint's token", testKey, mint(t, testKey, "default", "fraud", time.Hour), "default", "credit", t0, "another endpoint"},
		{"empty", testKey, "", "default", "credit", t0, "malformed"},
		{"an endpoint key", testKey, hangar.NewEndpointKey(), "default", "credit", t0, "malformed"},
		{"no mac", testKey, strings.Split(good, ".")[0] + "." + strings.Split(good, ".")[1], "default", "credit", t0, "malformed"},
		{"long", testKey, good + strings.Repeat("A", 600), "default", "credit", t0, "malformed"},
		{"no key", nil, good, "default", "credit", t0, "not configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := endpointauth.Verify(tt.key, tt.token, tt.ws, tt.ep, tt.now)
			if tt.name == "forged mac" {
				// The last base64 character may carry padding bits only:
				// flipping it either breaks the encoding or the mac.
				if err == nil {
					t.Fatalf("a forged token verified: %+v", c)
				}
				return
			}
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				if want := (endpointauth.Claims{Workspace: tt.ws, Endpoint: tt.ep, Expires: t0.Add(time.Hour)}); c != want {
					t.Fatalf("claims: got %+v, want %+v", c, want)
				}
				return
			}
			if hangar.ErrorCode(err) != hangar.EUNAUTHORIZED || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want EUNAUTHORIZED with %q", err, tt.want)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Fatalf("the error %q holds the token", err)
			}
		})
	}
}

func TestMint(t *testing.T) {
	tests := []struct {
		name    string
		key     []byte
		ws, ep  string
		ttl     time.Duration
		wantErr bool
	}{
		{"default ttl", testKey, "default", "credit", 0, false},
		{"a day", testKey, "default", "credit", endpointauth.MaxTTL, false},
		{"too long", testKey, "default", "credit", endpointauth.MaxTTL + time.Second, true},
		{"negative", testKey, "default", "credit", -time.Second, true},
		{"short key", testKey[:31], "default", "credit", 0, true},
		{"bad endpoint", testKey, "default", "a/b", 0, true},
		{"bad workspace", testKey, "a/b", "credit", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, c, err := endpointauth.Mint(tt.key, tt.ws, tt.ep, t0, tt.ttl)
			if tt.wantErr {
				if hangar.ErrorCode(err) != hangar.EINVALID {
					t.Fatalf("got %q, %v; want EINVALID", tok, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ttl := tt.ttl
			if ttl == 0 {
				ttl = endpointauth.DefaultTTL
			}
			if !c.Expires.Equal(t0.Add(ttl)) {
				t.Errorf("expires: got %s, want %s", c.Expires, t0.Add(ttl))
			}
			if got, err := endpointauth.Parse(tok); err != nil || got != c {
				t.Errorf("Parse: got %+v, %v; want %+v", got, err, c)
			}
			if len(tok) > endpointauth.MaxTokenSize {
				t.Errorf("token is %d bytes, over MaxTokenSize", len(tok))
			}
		})
	}
}

// FuzzVerify feeds Verify and Parse any string: no panic; a token that
// verifies is one Mint would make from its claims, byte for byte.
func FuzzVerify(f *testing.F) {
	tok, _, _ := endpointauth.Mint(testKey, "default", "credit", t0, time.Hour)
	f.Add(tok)
	f.Add("")
	f.Add("hgt1..")
	f.Add("hgt1.ZGVmYXVsdC9jcmVkaXQvMQ.AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := endpointauth.Parse(s)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EUNAUTHORIZED {
				t.Fatalf("Parse(%q): got %v, want EUNAUTHORIZED", s, err)
			}
		} else if hangar.ValidateWorkspaceName(c.Workspace) != nil || hangar.ValidateEndpointName(c.Endpoint) != nil {
			t.Fatalf("Parse(%q): bad names in %+v", s, c)
		}
		c, err = endpointauth.Verify(testKey, s, "default", "credit", t0)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EUNAUTHORIZED {
				t.Fatalf("Verify(%q): got %v, want EUNAUTHORIZED", s, err)
			}
			return
		}
		again, _, err := endpointauth.Mint(testKey, c.Workspace, c.Endpoint, c.Expires.Add(-time.Hour), time.Hour)
		if err != nil || again != s {
			t.Fatalf("Verify accepted %q, which Mint makes as %q (%v)", s, again, err)
		}
	})
}

func TestVerifier(t *testing.T) {
	tok := mint(t, testKey, "default", "credit", time.Hour)
	now := t0
	v := &endpointauth.Verifier{Key: testKey, Workspace: "default", Now: func() time.Time { return now }}
	if err := v.Verify(t.Context(), "credit", tok); err != nil {
		t.Fatalf("good token: %v", err)
	}
	if err := v.Verify(t.Context(), "fraud", tok); hangar.ErrorCode(err) != hangar.EUNAUTHORIZED {
		t.Errorf("another endpoint: got %v, want EUNAUTHORIZED", err)
	}
	now = t0.Add(2 * time.Hour)
	if err := v.Verify(t.Context(), "credit", tok); hangar.ErrorCode(err) != hangar.EUNAUTHORIZED {
		t.Errorf("expired: got %v, want EUNAUTHORIZED", err)
	}
	other := &endpointauth.Verifier{Key: testKey, Workspace: "team"}
	if err := other.Verify(t.Context(), "credit", tok); hangar.ErrorCode(err) != hangar.EUNAUTHORIZED {
		t.Errorf("another workspace: got %v, want EUNAUTHORIZED", err)
	}
}
