package endpointauth_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
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

// gen is the token generation of the test's endpoints.
const gen = 0x9e3779b97f4a7c15

func mint(t *testing.T, key []byte, ws, ep string, ttl time.Duration) string {
	t.Helper()
	return mintGen(t, key, ws, ep, gen, ttl)
}

func mintGen(t *testing.T, key []byte, ws, ep string, generation uint64, ttl time.Duration) string {
	t.Helper()
	tok, _, err := endpointauth.Mint(key, ws, ep, generation, t0, ttl)
	if err != nil {
		t.Fatalf("Mint(%s, %s): %v", ws, ep, err)
	}
	return tok
}

func TestVerify(t *testing.T) {
	good := mint(t, testKey, "default", "credit", time.Hour)
	forged := []byte(good)
	forged[len(forged)-2] ^= 1
	// A token of the first format (no generation), as the last release
	// minted it: payload "default/credit/<expiry>", mac under testKey.
	v1 := "hgt1." + base64.RawURLEncoding.EncodeToString([]byte("default/credit/1796050800"))
	m := hmac.New(sha256.New, testKey)
	m.Write([]byte(v1))
	v1 += "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	tests := []struct {
		name          string
		key           []byte
		token, ws, ep string
		gen           uint64
		now           time.Time
		want          string // a part of the message; "" for no error
	}{
		{"good", testKey, good, "default", "credit", gen, t0, ""},
		{"just before expiry", testKey, good, "default", "credit", gen, t0.Add(time.Hour - time.Second), ""},
		{"expired", testKey, good, "default", "credit", gen, t0.Add(time.Hour), "expired"},
		{"other endpoint", testKey, good, "default", "credit2", gen, t0, "another endpoint"},
		{"other workspace", testKey, good, "team", "credit", gen, t0, "another endpoint"},
		{"endpoint re-created", testKey, good, "default", "credit", gen + 1, t0, "another endpoint"},
		{"unknown generation", testKey, good, "default", "credit", 0, t0, "another endpoint"},
		{"other key", otherKey, good, "default", "credit", gen, t0, "not valid"},
		{"forged mac", testKey, string(forged), "default", "credit", gen, t0, ""},
		{"other endpoint's token", testKey, mint(t, testKey, "default", "fraud", time.Hour), "default", "credit", gen, t0, "another endpoint"},
		{"first format", testKey, v1, "default", "credit", gen, t0, "no longer accepts"},
		{"empty", testKey, "", "default", "credit", gen, t0, "malformed"},
		{"an endpoint key", testKey, hangar.NewEndpointKey(), "default", "credit", gen, t0, "malformed"},
		{"no mac", testKey, strings.Split(good, ".")[0] + "." + strings.Split(good, ".")[1], "default", "credit", gen, t0, "malformed"},
		{"long", testKey, good + strings.Repeat("A", 600), "default", "credit", gen, t0, "malformed"},
		{"no key", nil, good, "default", "credit", gen, t0, "not configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := endpointauth.Verify(tt.key, tt.token, tt.ws, tt.ep, tt.gen, tt.now)
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
				if want := (endpointauth.Claims{Workspace: tt.ws, Endpoint: tt.ep, Generation: gen, Expires: t0.Add(time.Hour)}); c != want {
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
		gen     uint64
		ttl     time.Duration
		wantErr bool
	}{
		{"default ttl", testKey, "default", "credit", gen, 0, false},
		{"a day", testKey, "default", "credit", gen, endpointauth.MaxTTL, false},
		{"smallest generation", testKey, "default", "credit", 1, 0, false},
		{"largest generation", testKey, "default", "credit", 1<<64 - 1, 0, false},
		{"too long", testKey, "default", "credit", gen, endpointauth.MaxTTL + time.Second, true},
		{"negative", testKey, "default", "credit", gen, -time.Second, true},
		{"short key", testKey[:31], "default", "credit", gen, 0, true},
		{"bad endpoint", testKey, "default", "a/b", gen, 0, true},
		{"bad workspace", testKey, "a/b", "credit", gen, 0, true},
		{"no generation", testKey, "default", "credit", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, c, err := endpointauth.Mint(tt.key, tt.ws, tt.ep, tt.gen, t0, tt.ttl)
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
			if c.Generation != tt.gen {
				t.Errorf("generation: got %x, want %x", c.Generation, tt.gen)
			}
			if _, err := endpointauth.Verify(tt.key, tok, tt.ws, tt.ep, tt.gen, t0); err != nil {
				t.Errorf("Verify: %v", err)
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
	tok, _, _ := endpointauth.Mint(testKey, "default", "credit", gen, t0, time.Hour)
	f.Add(tok)
	f.Add("")
	f.Add("hgt2..")
	f.Add("hgt1.ZGVmYXVsdC9jcmVkaXQvMQ.AAAA")
	f.Add("hgt2.ZGVmYXVsdC9jcmVkaXQvOWUzNzc5Yjk3ZjRhN2MxNS8x.AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := endpointauth.Parse(s)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EUNAUTHORIZED {
				t.Fatalf("Parse(%q): got %v, want EUNAUTHORIZED", s, err)
			}
		} else if hangar.ValidateWorkspaceName(c.Workspace) != nil || hangar.ValidateEndpointName(c.Endpoint) != nil {
			t.Fatalf("Parse(%q): bad names in %+v", s, c)
		}
		c, err = endpointauth.Verify(testKey, s, "default", "credit", gen, t0)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EUNAUTHORIZED {
				t.Fatalf("Verify(%q): got %v, want EUNAUTHORIZED", s, err)
			}
			return
		}
		again, _, err := endpointauth.Mint(testKey, c.Workspace, c.Endpoint, c.Generation, c.Expires.Add(-time.Hour), time.Hour)
		if err != nil || again != s {
			t.Fatalf("Verify accepted %q, which Mint makes as %q (%v)", s, again, err)
		}
	})
}

func TestVerifier(t *testing.T) {
	tok := mint(t, testKey, "default", "credit", time.Hour)
	now := t0
	v := &endpointauth.Verifier{Key: testKey, Workspace: "default", Now: func() time.Time { return now }}
	if err := v.Verify(t.Context(), "credit", tok); hangar.ErrorCode(err) != hangar.EUNAUTHORIZED {
		t.Errorf("an endpoint the verifier was not told of: got %v, want EUNAUTHORIZED", err)
	}
	v.SetGeneration("credit", gen)
	v.SetGeneration("fraud", gen)
	if err := v.Verify(t.Context(), "credit", tok); err != nil {
		t.Fatalf("good token: %v", err)
	}
	// Deleted and created again: the first endpoint's tokens are void, the
	// new one's work.
	v.Forget("credit")
	if err := v.Verify(t.Context(), "credit", tok); hangar.ErrorCode(err) != hangar.EUNAUTHORIZED {
		t.Errorf("a deleted endpoint: got %v, want EUNAUTHORIZED", err)
	}
	v.SetGeneration("credit", gen+1)
	if err := v.Verify(t.Context(), "credit", tok); hangar.ErrorCode(err) != hangar.EUNAUTHORIZED || !strings.Contains(err.Error(), "another endpoint") {
		t.Errorf("a token of the endpoint before it was re-created: got %v, want EUNAUTHORIZED for another endpoint", err)
	}
	if err := v.Verify(t.Context(), "credit", mintGen(t, testKey, "default", "credit", gen+1, time.Hour)); err != nil {
		t.Errorf("a token of the re-created endpoint: %v", err)
	}
	v.SetGeneration("credit", gen)
	if err := v.Verify(t.Context(), "fraud", tok); hangar.ErrorCode(err) != hangar.EUNAUTHORIZED {
		t.Errorf("another endpoint: got %v, want EUNAUTHORIZED", err)
	}
	now = t0.Add(2 * time.Hour)
	if err := v.Verify(t.Context(), "credit", tok); hangar.ErrorCode(err) != hangar.EUNAUTHORIZED {
		t.Errorf("expired: got %v, want EUNAUTHORIZED", err)
	}
	other := &endpointauth.Verifier{Key: testKey, Workspace: "team"}
	other.SetGeneration("credit", gen)
	if err := other.Verify(t.Context(), "credit", tok); hangar.ErrorCode(err) != hangar.EUNAUTHORIZED {
		t.Errorf("another workspace: got %v, want EUNAUTHORIZED", err)
	}
}
