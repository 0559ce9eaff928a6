package jobrun_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/builtin"
	"github.com/hangar-ml/hangar/disk"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/internal/pgtest"
	"github.com/hangar-ml/hangar/jobrun"
	"github.com/hangar-ml/hangar/seal"
	"github.com/hangar-ml/hangar/sqlstore"
)

var backends = []struct {
	name string
	dsn  func(t testing.TB) string
}{
	{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "hangar.db") }},
	{"postgres", func(t testing.TB) string { return pgtest.URL(t) }},
}

// env is a real server (native API on a real store, authentication on)
// with the scheduler running and step runners in process: the same
// RunStep as `hangar run-step`, reaching the server over HTTP with the
// job's own token.
type env struct {
	t     testing.TB
	srv   *httptest.Server
	api   *httpapi.Server
	db    *sqlstore.DB
	admin *httpapi.Client
	sched *jobrun.Scheduler
	exec  *jobrun.InProcess
	ids   *sqlstore.IdentityService
	// registrations counts the calls of the scheduler's Register.
	registrations atomic.Int64
}

func newEnv(t testing.TB, dsn string, executor jobrun.Executor, opts ...envOption) *env {
	t.Helper()
	var opt envOptions
	for _, o := range opts {
		o(&opt)
	}
	ctx := t.Context()
	db := sqlstore.New(dsn)
	kek := make([]byte, seal.KeySize)
	rand.Read(kek)
	sealer, err := seal.New(kek)
	if err != nil {
		t.Fatal(err)
	}
	db.Sealer = sealer
	if err := db.Open(ctx); err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	s := httpapi.NewServer()
	s.Workspaces = sqlstore.NewWorkspaceService(db)
	ids := sqlstore.NewIdentityService(db)
	s.Identities, s.Credentials = ids, ids
	s.Roles = sqlstore.NewRoleService(db)
	s.Audit = sqlstore.NewAuditService(db)
	s.Secrets = sqlstore.NewSecretService(db)
	blobs := disk.New(filepath.Join(t.TempDir(), "blobs"))
	s.Blobs = blobs
	s.BlobIndex = sqlstore.NewBlobIndex(db)
	s.Artifacts = sqlstore.NewArtifactIndex(db)
	s.Tracking = sqlstore.NewTrackingService(db)
	s.Registry = sqlstore.NewRegistryService(db)
	s.Jobs = sqlstore.NewJobService(db)
	s.Data = sqlstore.NewDataService(db)
	s.Logger = slog.New(slog.DiscardHandler)
	s.Ready = db.Ping
	e := &env{t: t, api: s, db: db, ids: ids}
	data := sqlstore.NewDataService(db)
	registrar := jobrun.DataRegistrar{Data: data, Blobs: blobs}
	register := func(ctx context.Context, ws string, a *hangar.DataAsset) (*hangar.DataAsset, error) {
		e.registrations.Add(1)
		// A registration that takes a while opens the window between a
		// job's end and its assets wide.
		time.Sleep(opt.slowRegister)
		return registrar.Register(ctx, ws, a)
	}
	// The runner's Completed reaches the store through RegisteringJobs,
	// as in the server.
	s.Jobs = &jobrun.RegisteringJobs{JobService: s.Jobs, Register: register}
	e.sched = &jobrun.Scheduler{Jobs: s.Jobs, Tracking: s.Tracking, Data: data, Tokens: jobrun.IdentityTokens{Identities: ids}, Poll: 50 * time.Millisecond,
		Register: register}
	s.JobSubmitter = &jobrun.Submitter{Jobs: s.Jobs, Data: data, Environments: sqlstore.NewEnvironmentService(db),
		Components: sqlstore.NewComponentService(db), Builtin: builtin.Resolver{}, Submitted: e.sched.Changed}
	s.JobEvents = e.sched.Changed
	e.srv = httptest.NewServer(s.Handler())
	t.Cleanup(e.srv.Close)
	admin, err := ids.IssueToken(ctx, &hangar.TokenRequest{Name: "admin", Role: hangar.RoleOwner})
	if err != nil {
		t.Fatal(err)
	}
	e.admin = httpapi.NewClient(e.srv.URL, admin.Secret)
	if executor == nil {
		e.exec = &jobrun.InProcess{
			NewControl: func(token string) jobrun.Control {
				return remote{httpapi.NewClient(e.srv.URL, token)}
			},
			Options: jobrun.RunOptions{TrackingURI: e.srv.URL, Lease: 3 * time.Second, KillGrace: time.Second},
		}
		executor = e.exec
	}
	e.sched.Executor = executor
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.sched.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if e.exec != nil {
			e.exec.Wait()
		}
	})
	return e
}

// envOptions change newEnv's server.
type envOptions struct {
	slowRegister time.Duration // each output registration sleeps this long first
}

type envOption func(*envOptions)

// slowRegister makes each output registration take d longer.
func slowRegister(d time.Duration) envOption {
	return func(o *envOptions) { o.slowRegister = d }
}

// submit submits a job YAML with its other files.
func (e *env) submit(yaml string, files map[string]string, sets ...string) *hangar.Job {
	e.t.Helper()
	j, err := e.admin.SubmitJob(e.t.Context(), hangar.DefaultWorkspace, &hangar.JobSubmission{File: "job.yml", YAML: yaml, Files: files, Sets: sets})
	if err != nil {
		e.t.Fatalf("submit: %v", err)
	}
	return j
}

// wait waits until the job is in a terminal status (or until 60 s).
func (e *env) wait(name string) *hangar.Job {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		j, err := e.admin.Job(e.t.Context(), hangar.DefaultWorkspace, name)
		if err != nil {
			e.t.Fatalf("job %s: %v", name, err)
		}
		if j.Status.Terminal() {
			return j
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %s still %s after 60 s", name, j.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitStatus waits until the job has the status.
func (e *env) waitStatus(name string, status hangar.JobStatus) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j, err := e.admin.Job(e.t.Context(), hangar.DefaultWorkspace, name)
		if err != nil {
			e.t.Fatalf("job %s: %v", name, err)
		}
		if j.Status == status {
			return
		}
		if j.Status.Terminal() || time.Now().After(deadline) {
			e.t.Fatalf("job %s is %s, waiting for %s", name, j.Status, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitRun waits until the MLflow run has the status: a job's end is
// settled (its run ended, its token revoked) just after it ends.
func (e *env) waitRun(runID, status string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		run, err := e.api.Tracking.Run(e.t.Context(), hangar.DefaultWorkspace, runID)
		if err != nil {
			e.t.Fatal(err)
		}
		if run.Info.Status == status {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("run %s is %s, want %s", runID, run.Info.Status, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) log(name string) string {
	e.t.Helper()
	var b strings.Builder
	var off int64
	for {
		c, err := e.admin.JobLog(e.t.Context(), hangar.DefaultWorkspace, name, off, 0)
		if err != nil {
			e.t.Fatalf("log of %s: %v", name, err)
		}
		b.Write(c.Data)
		if len(c.Data) == 0 {
			return b.String()
		}
		off = c.Next
	}
}

// remote is the runner's Control over HTTP, as cmd/hangar's remoteControl.
type remote struct{ c *httpapi.Client }

func (r remote) LeaseJob(ctx context.Context, ws, name string, req jobrun.LeaseRequest) (*hangar.Job, error) {
	return r.c.LeaseJob(ctx, ws, name, httpapi.JobLeaseRequest{Holder: req.Holder, LeaseSeconds: int(req.Lease / time.Second), From: req.From, To: req.To})
}

func (r remote) FinishJob(ctx context.Context, ws, name string, req jobrun.FinishRequest) (*hangar.Job, error) {
	return r.c.FinishJob(ctx, ws, name, httpapi.JobFinishRequest{Holder: req.Holder, Status: req.Status, Error: req.Error, Outputs: req.Outputs})
}

func (r remote) AppendJobLog(ctx context.Context, ws, name, holder string, data []byte) error {
	return r.c.AppendJobLog(ctx, ws, name, holder, data)
}

func (r remote) BlobStore(ws string) hangar.BlobStore { return r.c.BlobStore(ws) }
