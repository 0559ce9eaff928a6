package sqlstore

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
)

// tokensSpec is a list keyed like ListTokens: a time and a text, descending.
func tokensSpec() listSpec[*hangar.Token] {
	return listSpec[*hangar.Token]{
		name: "tokens",
		keys: []sortKey{{"t.created_at", keyTime}, {"t.id", keyText}},
		desc: true,
		key:  func(t *hangar.Token) []any { return []any{t.CreatedAt, t.ID} },
	}
}

func TestKeysetCondition(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []sortKey
		desc bool
		want string
	}{
		{"one", []sortKey{{"name", keyText}}, false, "name > ?"},
		{"one descending", []sortKey{{"seq", keyInt}}, true, "seq < ?"},
		{"three", []sortKey{{"i.name", keyText}, {"COALESCE(r.workspace, '')", keyText}, {"r.role", keyText}}, false,
			"(i.name, COALESCE(r.workspace, ''), r.role) > (?, ?, ?)"},
		{"two descending", []sortKey{{"t.created_at", keyTime}, {"t.id", keyText}}, true, "(t.created_at, t.id) < (?, ?)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := listSpec[string]{keys: tc.keys, desc: tc.desc}
			if got := s.keysetCondition(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPageTokenKeys checks that every kind of key survives a page token: a
// time to the microsecond, as both dialects take it, an integer and text.
func TestPageTokenKeys(t *testing.T) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	for _, dialect := range []string{DialectSQLite, DialectPostgres} {
		t.Run(dialect, func(t *testing.T) {
			db := &DB{dialect: dialect}
			s := tokensSpec()
			token := s.token(&hangar.Token{CreatedAt: at, ID: "tok-1"})
			args, err := s.after(db, token)
			if err != nil {
				t.Fatalf("after(%q): %v", token, err)
			}
			if len(args) != 2 || args[0] != db.tv(at) || args[1] != "tok-1" {
				t.Errorf("after(%q) = %#v, want [%#v \"tok-1\"]", token, args, db.tv(at))
			}
		})
	}
	events := listSpec[*hangar.Event]{name: "audit events", keys: []sortKey{{"seq", keyInt}}, key: func(e *hangar.Event) []any { return []any{e.Seq} }}
	if args, err := events.after(&DB{}, events.token(&hangar.Event{Seq: 42})); err != nil || len(args) != 1 || args[0] != int64(42) {
		t.Errorf("events key: got %#v, %v; want [42]", args, err)
	}
	for _, tc := range []struct{ what, token string }{
		{"a time that is no number", encodePageToken("tokens", "yesterday", "tok-1")},
		{"a number too large", encodePageToken("tokens", "99999999999999999999", "tok-1")},
		{"another list's token", encodePageToken("workspaces", "default")},
		{"too many parts", encodePageToken("tokens", "1", "tok-1", "x")},
		{"a NUL", encodePageToken("tokens", "1", "tok\x00")},
	} {
		t.Run(tc.what, func(t *testing.T) {
			s := tokensSpec()
			_, err := s.after(&DB{}, tc.token)
			if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(hangar.ErrorMessage(err), "next_page_token of the previous tokens page") {
				t.Errorf("got %v, want %s naming the tokens list", err, hangar.EINVALID)
			}
		})
	}
}

func TestFormatKeyPanicsOnWrongKind(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a string for a time key did not panic")
		}
	}()
	formatKey("tokens", keyTime, "2024-01-01")
}

// TestClock checks that the store takes its time from DB.Now, truncated to
// microseconds in UTC, on what it stores and what it returns.
func TestClock(t *testing.T) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("CEST", 2*3600))
	want := at.UTC().Truncate(time.Microsecond)
	db := newTestDB(filepath.Join(t.TempDir(), "hangar.db"))
	db.Now = func() time.Time { return at }
	if err := db.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ws := NewWorkspaceService(db)
	w := &hangar.Workspace{Name: "clocked"}
	if err := ws.CreateWorkspace(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	if !w.CreatedAt.Equal(want) || w.CreatedAt.Location() != time.UTC {
		t.Errorf("created at %v, want %v", w.CreatedAt, want)
	}
	got, err := ws.Workspace(t.Context(), "clocked")
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(want) {
		t.Errorf("stored created at %v, want %v", got.CreatedAt, want)
	}
}

// FuzzListAfter checks that a page token a client sends is either one the
// list could have issued or EINVALID, never another error or a panic.
func FuzzListAfter(f *testing.F) {
	s := tokensSpec()
	f.Add(s.token(&hangar.Token{CreatedAt: time.UnixMicro(1700000000000000), ID: "abc"}))
	f.Add(encodePageToken("tokens", "x", "abc"))
	f.Add(encodePageToken("tokens", "-1", ""))
	f.Add("!!")
	f.Fuzz(func(t *testing.T, token string) {
		db := &DB{dialect: DialectPostgres}
		args, err := s.after(db, token)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("error %v has code %q, want %q", err, hangar.ErrorCode(err), hangar.EINVALID)
			}
			return
		}
		if token == "" {
			if args != nil {
				t.Fatalf("empty token: got %#v, want nil", args)
			}
			return
		}
		at, ok := args[0].(time.Time)
		id, _ := args[1].(string)
		if !ok {
			t.Fatalf("time key decoded to %T", args[0])
		}
		again, err := s.after(db, s.token(&hangar.Token{CreatedAt: at, ID: id}))
		if err != nil || again[0] != args[0] || again[1] != args[1] {
			t.Fatalf("round trip of %#v: got %#v, %v", args, again, err)
		}
	})
}
