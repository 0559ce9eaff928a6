package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/seal"
	"github.com/hangar-ml/hangar/sqlstore"
)

// TestCheckpointFiles runs what `audit checkpoint -f` and `audit verify
// --checkpoint` do against the store's audit service, which implements the
// methods the API client is to offer: a saved checkpoint reads back
// unchanged, verifies while the chain holds it, and catches the newest
// events deleted with the head moved back, which the chain alone does not.
func TestCheckpointFiles(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "hangar.db")
	sealer, err := seal.New([]byte("cmd-test-key-encryption-key-32b!"))
	if err != nil {
		t.Fatal(err)
	}
	db := sqlstore.New(path)
	db.Sealer = sealer
	db.AuditKey = sealer.DeriveKey(hangar.AuditKeyPurpose)
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	audit, workspaces := sqlstore.NewAuditService(db), sqlstore.NewWorkspaceService(db)
	if err := workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "before"}); err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(dir, "cp.json")
	cp, err := saveCheckpoint(ctx, audit, file)
	if err != nil {
		t.Fatalf("save checkpoint: %v", err)
	}
	if cp.Seq != 2 {
		t.Errorf("checkpoint seq %d, want 2", cp.Seq)
	}
	back, err := readCheckpoint(file)
	if err != nil {
		t.Fatalf("read the saved checkpoint: %v", err)
	}
	if back.Seq != cp.Seq || back.Hash != cp.Hash || !back.Time.Equal(cp.Time) || back.MAC != cp.MAC {
		t.Errorf("checkpoint read back %+v, want %+v", back, cp)
	}
	for _, name := range []string{"after-1", "after-2"} {
		if err := workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := verifyAgainst(ctx, audit, file); err != nil || !v.OK || v.Events != 4 {
		t.Fatalf("verify against the checkpoint: %+v, %v; want OK with 4 events", v, err)
	}

	// Delete events 2 to 4 and move the head back to event 1.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{
		`DELETE FROM audit_events WHERE seq > 1`,
		`UPDATE audit_head SET seq = 1, hash = (SELECT hash FROM audit_events WHERE seq = 1)`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := audit.VerifyAudit(ctx); err != nil || !v.OK {
		t.Fatalf("verify without a checkpoint: %+v, %v; want OK (the chain alone cannot tell)", v, err)
	}
	v, err := verifyAgainst(ctx, audit, file)
	if err != nil || v.OK || v.BrokenSeq != 2 {
		t.Errorf("verify against the checkpoint after truncation: %+v, %v; want broken at 2", v, err)
	}
}

func TestParseCheckpoint(t *testing.T) {
	good := `{"seq": 7, "hash": "` + strings.Repeat("a", 64) + `", "time": "2026-11-30T12:00:00.123456Z", "mac": "` + strings.Repeat("b", 64) + `"}`
	cp, err := parseCheckpoint([]byte(good))
	if err != nil {
		t.Fatalf("parse a good checkpoint: %v", err)
	}
	if cp.Seq != 7 || cp.Hash != strings.Repeat("a", 64) || !cp.Time.Equal(time.Date(2026, 11, 30, 12, 0, 0, 123456000, time.UTC)) {
		t.Errorf("parsed %+v", cp)
	}
	for _, tt := range []struct{ name, text string }{
		{"empty", ``},
		{"not an object", `[1]`},
		{"null", `null`},
		{"missing mac", strings.Replace(good, `"mac"`, `"mca"`, 1)},
		{"extra field", strings.Replace(good, `{`, `{"note": "x", `, 1)},
		{"field in capitals", strings.Replace(good, `"seq"`, `"SEQ"`, 1)},
		{"trailing data", good + `{}`},
		{"seq as a string", strings.Replace(good, `7`, `"7"`, 1)},
		{"short hash", strings.Replace(good, strings.Repeat("a", 64), "aaaa", 1)},
		{"bad time", strings.Replace(good, "2026-11-30T12:00:00.123456Z", "yesterday", 1)},
		{"too big", good + strings.Repeat(" ", maxCheckpointFile)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseCheckpoint([]byte(tt.text)); !hangar.IsCode(err, hangar.EINVALID) {
				t.Errorf("parseCheckpoint(%.60q) = %v, want %s", tt.text, err, hangar.EINVALID)
			}
		})
	}
}

// FuzzParseCheckpoint: whatever a checkpoint file holds, parsing either
// refuses it with EINVALID or returns a well-formed checkpoint that encodes
// and parses back to itself.
func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte(`{"seq": 7, "hash": "` + strings.Repeat("a", 64) + `", "time": "2026-11-30T12:00:00Z", "mac": "` + strings.Repeat("b", 64) + `"}`))
	f.Add([]byte(`{"seq": 0, "hash": "` + hangar.GenesisHash + `", "time": "0001-01-01T00:00:01Z", "mac": "` + strings.Repeat("0", 64) + `"}`))
	f.Add([]byte(`{"seq": -1}`))
	f.Add([]byte(`{"seq":1,"seq":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cp, err := parseCheckpoint(data)
		if err != nil {
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Fatalf("error %v has code %q, want %s", err, hangar.ErrorCode(err), hangar.EINVALID)
			}
			return
		}
		if err := cp.Validate(); err != nil {
			t.Fatalf("parsed an invalid checkpoint %+v: %v", cp, err)
		}
		enc, err := json.Marshal(cp)
		if err != nil {
			t.Fatalf("encode %+v: %v", cp, err)
		}
		again, err := parseCheckpoint(enc)
		if err != nil || again.Seq != cp.Seq || again.Hash != cp.Hash || !again.Time.Equal(cp.Time) || again.MAC != cp.MAC {
			t.Fatalf("round trip of %s: %+v, %v", enc, again, err)
		}
	})
}

// TestServerLogsCheckpoints: the server logs a signed checkpoint at start
// and at graceful shutdown, as JSON that `audit verify --checkpoint` reads,
// and both verify against the database afterwards.
func TestServerLogsCheckpoints(t *testing.T) {
	dir := t.TempDir()
	cfg := &serverConfig{
		Addr: "127.0.0.1:0", DataDir: dir, DB: filepath.Join(dir, "hangar.db"),
		Artifacts: filepath.Join(dir, "artifacts"), KEKFile: filepath.Join(dir, "kek"),
	}
	var logs bytes.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	up := make(chan running, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, slog.New(slog.NewJSONHandler(&logs, nil)), func(r running) { up <- r })
	}()
	var srv running
	select {
	case srv = <-up:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	env := map[string]string{"HANGAR_URL": srv.URL, "HANGAR_TOKEN": srv.OwnerToken, "HOME": dir}
	var out, errb strings.Builder
	if code := run(t.Context(), []string{"workspace", "create", "-n", "logged"}, strings.NewReader(""), &out, &errb,
		func(k string) string { return env[k] }); code != 0 {
		t.Fatalf("workspace create: exit %d: %s", code, errb.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}

	got := map[string]*hangar.AuditCheckpoint{}
	sc := bufio.NewScanner(&logs)
	for sc.Scan() {
		var line struct {
			Msg        string          `json:"msg"`
			At         string          `json:"at"`
			Checkpoint json.RawMessage `json:"checkpoint"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Msg != "audit checkpoint" {
			continue
		}
		cp, err := parseCheckpoint(line.Checkpoint)
		if err != nil {
			t.Fatalf("the logged checkpoint %s does not parse: %v", line.Checkpoint, err)
		}
		got[line.At] = cp
	}
	start, stop := got["start"], got["shutdown"]
	if start == nil || stop == nil {
		t.Fatalf("logged checkpoints %v, want one at start and one at shutdown; log:\n%s", got, logs.String())
	}
	if stop.Seq <= start.Seq {
		t.Errorf("checkpoint at shutdown (seq %d) is not after the one at start (seq %d) and the write between", stop.Seq, start.Seq)
	}
	sealer, err := openSealer(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	db := sqlstore.New(cfg.DB)
	db.Sealer, db.AuditKey = sealer, sealer.DeriveKey(hangar.AuditKeyPurpose)
	if err := db.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for at, cp := range got {
		if v, err := sqlstore.NewAuditService(db).VerifyAuditCheckpoint(t.Context(), cp); err != nil || !v.OK {
			t.Errorf("verify against the checkpoint logged at %s: %+v, %v; want OK", at, v, err)
		}
	}
}
