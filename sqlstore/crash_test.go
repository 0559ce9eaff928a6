package sqlstore

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

// crashHelperEnv names the database the helper process writes to until it is killed.
const crashHelperEnv = "SQLSTORE_CRASH_HELPER_DB"

// TestSQLiteKillLosesNoAcknowledgedWrite runs a writer in a child process,
// kills it with SIGKILL mid-stream and checks that every write it
// acknowledged (printed after the call returned) is in the database and the
// audit chain is intact.
func TestSQLiteKillLosesNoAcknowledgedWrite(t *testing.T) {
	if dsn := os.Getenv(crashHelperEnv); dsn != "" {
		crashHelper(t, dsn)
		return
	}
	dsn := filepath.Join(t.TempDir(), "hangar.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteKillLosesNoAcknowledgedWrite$")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+dsn)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "crash-") {
			continue // not an acknowledgement
		}
		acked = append(acked, sc.Text())
		if len(acked) == 200 {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL: no cleanup runs
				t.Fatal(err)
			}
		}
	}
	cmd.Wait() //nolint:errcheck // killed on purpose
	if len(acked) < 200 {
		t.Fatalf("helper acknowledged only %d writes before exiting", len(acked))
	}

	db := openDB(t, dsn)
	ws := NewWorkspaceService(db)
	for _, name := range acked {
		if _, err := ws.Workspace(t.Context(), name); err != nil {
			t.Errorf("acknowledged workspace %s lost: %v", name, err)
		}
	}
	v, err := NewAuditService(db).VerifyAudit(t.Context())
	if err != nil || !v.OK || v.Events < int64(len(acked))+1 {
		t.Errorf("audit after kill: %+v, %v; want OK with at least %d events", v, err, len(acked)+1)
	}
}

func crashHelper(t *testing.T, dsn string) {
	db := newTestDB(dsn)
	if err := db.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	ws := NewWorkspaceService(db)
	for i := 0; ; i++ {
		name := fmt.Sprintf("crash-%06d", i)
		if err := ws.CreateWorkspace(t.Context(), &hangar.Workspace{Name: name}); err != nil {
			t.Fatal(err)
		}
		fmt.Println(name) // acknowledged
	}
}
