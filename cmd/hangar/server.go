package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/builtin"
	"github.com/hangar-ml/hangar/disk"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/jobrun"
	"github.com/hangar-ml/hangar/jobspec"
	"github.com/hangar-ml/hangar/schedule"
	"github.com/hangar-ml/hangar/seal"
	"github.com/hangar-ml/hangar/sqlstore"
)

func newServerCmd(getenv env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Hangar workspace server",
		Long: `Run the Hangar workspace server: the HTTP API, health, readiness and Prometheus metrics.

With no flags everything lives in one data directory ($HANGAR_HOME or ~/.hangar):
a SQLite metadata store, a local artifact folder and the key that encrypts secrets.
On first start the server creates an owner token and writes it to
<data-dir>/owner.token (mode 0600); it logs that path, never the token.

Settings come from flags, then HANGAR_* environment variables (HANGAR_ADDR,
HANGAR_DATA_DIR, HANGAR_DB, HANGAR_ARTIFACTS, HANGAR_TLS_CERT, HANGAR_TLS_KEY,
HANGAR_KEK_FILE, HANGAR_KEK, HANGAR_DISABLE_AUTH, HANGAR_METRICS_AUTH), then a YAML config file
(--config, or <data-dir>/server.yaml) with the same names in snake_case.
SIGTERM or SIGINT stops accepting requests, drains those in flight and exits 0.`,
		Args: cobra.NoArgs,
	}
	bindServerFlags(cmd.Flags())
	// Test-only: schedule.txtar sees minute schedules fire in seconds.
	var clockRate float64
	cmd.Flags().Float64Var(&clockRate, "test-schedule-clock-rate", 0, "test only: run the schedule clock this many times faster than real time")
	cmd.Flags().MarkHidden("test-schedule-clock-rate")
	var pprofAddr string
	cmd.Flags().StringVar(&pprofAddr, "pprof", "", "serve Go profiles (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060 (off by default)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := loadServerConfig(cmd, getenv)
		if err != nil {
			return err
		}
		cfg.ScheduleClockRate = clockRate
		tuneGC(getenv)
		logger := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
		if pprofAddr != "" {
			_, stop, err := startPprof(pprofAddr, logger)
			if err != nil {
				return err
			}
			defer stop()
		}
		return serve(cmd.Context(), cfg, logger, nil)
	}
	return cmd
}

// running describes a started server to its caller (quickstart).
type running struct {
	URL        string
	OwnerToken string // set only when this start created it
	TokenPath  string
}

// serve runs the server until ctx is done, then drains in-flight requests.
// started, when not nil, is called once the server accepts connections.
func serve(ctx context.Context, cfg *serverConfig, logger *slog.Logger, started func(running)) (err error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	sealer, err := openSealer(cfg, logger)
	if err != nil {
		return err
	}
	db := sqlstore.New(cfg.DB)
	db.Logger = logger
	db.Sealer = sealer
	db.AuditKey = sealer.DeriveKey(hangar.AuditKeyPurpose)
	if err := db.Open(ctx); err != nil {
		return fmt.Errorf("open metadata store: %w", err)
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close metadata store: %w", cerr)
		}
	}()
	blobs, err := openBlobStore(ctx, cfg.Artifacts)
	if err != nil {
		return err
	}

	workspaces := sqlstore.NewWorkspaceService(db)
	identities := sqlstore.NewIdentityService(db)
	if cfg.Demo {
		err := workspaces.CreateWorkspace(ctx, &hangar.Workspace{Name: "demo", Description: "Created by hangar quickstart"})
		if err != nil && !hangar.IsCode(err, hangar.ECONFLICT) {
			return fmt.Errorf("create demo workspace: %w", err)
		}
	}
	tokenPath := filepath.Join(cfg.DataDir, ownerTokenFile)
	owner, err := ensureOwnerToken(ctx, identities, tokenPath)
	if err != nil {
		return err
	}
	switch {
	case owner.secret != "":
		logger.Info("created owner token", "path", owner.path)
		if owner.path != tokenPath {
			logger.Warn("the owner token file in the data directory belongs to another database and was left alone; this database's owner token was written beside it",
				"path", owner.path, "other", tokenPath)
		}
	case owner.foreign:
		logger.Warn("the owner token file does not belong to this database (its token is unknown here); if this database's owner token is lost, run `hangar owner reset-token` with the same --db",
			"path", tokenPath)
	}
	if owner.path != "" {
		tokenPath = owner.path
	}
	ownerToken := owner.secret

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var draining atomic.Bool
	api := httpapi.NewServer()
	api.Workspaces = workspaces
	api.Identities = identities
	api.Credentials = identities
	api.Roles = sqlstore.NewRoleService(db)
	audit := sqlstore.NewAuditService(db)
	logCheckpoint(ctx, logger, audit, "start")
	api.Audit = audit
	api.Secrets = sqlstore.NewSecretService(db)
	api.Blobs = blobs
	api.BlobIndex = sqlstore.NewBlobIndex(db)      // which workspace owns which blob; audits uploads
	api.Artifacts = sqlstore.NewArtifactIndex(db)  // MLflow's artifact proxy: a workspace's paths → blobs
	api.Tracking = sqlstore.NewTrackingService(db) // experiments and runs: the MLflow tracking routes
	api.Registry = sqlstore.NewRegistryService(db) // the model registry: the MLflow registry routes
	// MLflow 3.x logged models and runs/outputs.
	api.LoggedModels = sqlstore.NewLoggedModelService(db)
	api.Jobs = sqlstore.NewJobService(db) // jobs, steps and their logs: the job routes
	// Versioned environments and command components; a component's spec
	// must read back as jobspec reads it, for the job runner.
	api.Environments = sqlstore.NewEnvironmentService(db)
	api.Components = sqlstore.NewComponentService(db)
	api.CheckComponentSpec = jobspec.CheckComponent
	api.Data = sqlstore.NewDataService(db)          // datastores and data assets
	api.Approvals = sqlstore.NewApprovalService(db) // protected aliases and approval requests
	api.BatchEndpoints = sqlstore.NewBatchEndpointService(db)
	// Jobs run on compute "local": the scheduler queues them and hands
	// each to a `hangar run-step` process of this binary, which reaches
	// this server at its own address (set once listening).
	dataSvc := api.Data
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the hangar binary for job steps: %w", err)
	}
	parallel, _ := cfg.jobParallel()
	lease, _ := cfg.jobLease()
	local := &jobrun.Local{Binary: exe, Parallel: parallel, Lease: lease, Output: os.Stderr, Logger: logger}
	// A job's named outputs become data assets before it is Completed:
	// the runner's report reaches the store through RegisteringJobs.
	register := jobrun.DataRegistrar{Data: dataSvc, Blobs: blobs}.Register
	api.Jobs = &jobrun.RegisteringJobs{JobService: api.Jobs, Register: register}
	sched := &jobrun.Scheduler{Jobs: api.Jobs, Tracking: api.Tracking, Data: dataSvc, Executor: local, Logger: logger,
		Register: register}
	if !cfg.DisableAuth {
		sched.Tokens = jobrun.IdentityTokens{Identities: identities}
	}
	api.JobSubmitter = &jobrun.Submitter{Jobs: api.Jobs, Data: dataSvc, Environments: api.Environments,
		Components: api.Components, Builtin: builtin.Resolver{}, Submitted: sched.Changed}
	api.JobEvents = sched.Changed
	// Schedules fire through the same submitter as `job create`.
	firer := newScheduleFirer(cfg, sqlstore.NewScheduleService(db), api.Jobs, api.JobSubmitter, sched.Changed, logger)
	api.Schedules, api.ScheduleFirer = firer.Schedules, firer
	api.Logger = logger
	api.Registerer = reg
	api.Gatherer = reg
	api.AuthDisabled = cfg.DisableAuth
	api.MetricsAuth = cfg.MetricsAuth
	api.Ready = func(ctx context.Context) error {
		if draining.Load() {
			return hangar.Errorf(hangar.EUNAVAILABLE, "server is shutting down")
		}
		if err := db.Ping(ctx); err != nil {
			return err
		}
		// Ready means able to take writes, artifacts included.
		if c, ok := blobs.(interface{ Check(context.Context) error }); ok {
			return c.Check(ctx)
		}
		return nil
	}
	if cfg.DisableAuth {
		logger.Warn("authentication is disabled: every request acts as Owner", "addr", cfg.Addr)
	}
	// Online endpoints: the release controller keeps one scoring gateway
	// per workspace in step with the stored endpoints (server_endpoints.go).
	rel, err := openRelease(ctx, cfg, db, workspaces, dataSvc, blobs, endpointTokenKey(sealer), reg, logger)
	if err != nil {
		return fmt.Errorf("open the release controller: %w", err)
	}
	// Closed after the HTTP server drained (defers run last first): the
	// gateways drain their in-flight scoring requests and upload capture.
	defer func() {
		if cerr := rel.Close(); cerr != nil {
			logger.Error("close the release controller", "err", cerr)
		}
	}()
	api.Endpoints, api.Deployer = rel, rel

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Header, read, write and idle timeouts, so slow or idle clients cannot
	// hold connections; blob streams are paced instead (httpapi.Timeouts).
	srv := httpapi.NewHTTPServer(withScoring(rel, api.Handler()), logger, cfg.Timeouts)
	// Request contexts end only when their client goes away, never with
	// ctx: in-flight requests drain at shutdown, and httpapi counts a
	// cancelled request as the client's (499).
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	scheme := "http"
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("load TLS key pair: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String()
	logger.Info("hangar server listening", "url", url, "db", redactDSN(cfg.DB), "artifacts", cfg.Artifacts, "data_dir", cfg.DataDir)

	local.ServerURL = scheme + "://" + loopbackAddr(ln.Addr())
	if cfg.TLSCert != "" {
		local.Env = []string{"HANGAR_CA_CERT=" + cfg.TLSCert}
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// Endpoints come back once the server listens; stopped before the
	// release controller closes.
	defer replayEndpoints(ctx, rel, logger)()
	schedCtx, stopSched := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSched()
	schedDone := make(chan struct{})
	go func() {
		defer close(schedDone)
		sched.Run(schedCtx)
	}()
	firerDone := make(chan struct{})
	go func() {
		defer close(firerDone)
		firer.Run(schedCtx)
	}()
	if started != nil {
		started(running{URL: url, OwnerToken: ownerToken, TokenPath: tokenPath})
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	draining.Store(true)
	stopSched()
	<-schedDone
	<-firerDone
	logger.Info("shutting down: draining in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logCheckpoint(shutdownCtx, logger, audit, "shutdown")
	logger.Info("server stopped")
	return nil
}

// newScheduleFirer makes the server's schedule firer, named by host and
// process in the firings it claims.
func newScheduleFirer(cfg *serverConfig, schedules hangar.ScheduleService, jobs hangar.JobService, sub schedule.JobSubmitter, jobCreated func(string, string), logger *slog.Logger) *schedule.Firer {
	host, _ := os.Hostname()
	f := &schedule.Firer{Schedules: schedules, Jobs: jobs, Submitter: sub, JobCreated: jobCreated,
		Server: fmt.Sprintf("%s/%d", host, os.Getpid()), Logger: logger}
	if rate := cfg.ScheduleClockRate; rate > 1 {
		start := time.Now()
		f.Speed = rate
		f.Now = func() time.Time { return start.Add(time.Duration(float64(time.Since(start)) * rate)) }
	}
	return f
}

// loopbackAddr is how a process on this machine reaches a listener: its
// port on the loopback address when it listens on every address.
func loopbackAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// logCheckpoint logs a signed checkpoint of the audit chain head: a copy
// outside the database, so that deleting the newest events and moving the
// head back is caught by `hangar audit verify --checkpoint` against it. The
// "checkpoint" attribute is the JSON that command reads from a file. A
// failure is logged, not fatal: it means the chain needs `audit verify`.
func logCheckpoint(ctx context.Context, logger *slog.Logger, audit hangar.AuditCheckpointService, at string) {
	cp, err := audit.Checkpoint(ctx)
	if err != nil {
		logger.ErrorContext(ctx, "audit checkpoint failed: run hangar audit verify", "at", at, "error", err)
		return
	}
	logger.InfoContext(ctx, "audit checkpoint", "at", at, "checkpoint", cp)
}

// openSealer loads the key-encryption key: HANGAR_KEK, else the KEK file,
// generated with mode 0600 on first start. The sealer also derives the
// audit key from it.
func openSealer(cfg *serverConfig, logger *slog.Logger) (*seal.AESGCM, error) {
	var kek []byte
	var err error
	if cfg.KEK != "" {
		kek, err = seal.ParseKEK(cfg.KEK)
		if err != nil {
			return nil, fmt.Errorf("HANGAR_KEK: %w", err)
		}
	} else {
		var created bool
		kek, created, err = seal.LoadOrCreateKEK(cfg.KEKFile)
		if err != nil {
			return nil, fmt.Errorf("key-encryption key: %w", err)
		}
		if created {
			logger.Info("generated key-encryption key", "path", cfg.KEKFile)
		}
	}
	s, err := seal.New(kek)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	return s, nil
}

// openBlobStore picks the artifact backend by the location's scheme: an
// S3 bucket for s3://, else a local folder (file:// optional). Every other
// URL-like location — another scheme ("gs://"), or s3 misspelt ("S3://",
// "s3:/") — goes to s3store.ParseLocation too, which refuses it saying
// what it wants: taken for a folder name, it would be created silently.
func openBlobStore(ctx context.Context, loc string) (hangar.BlobStore, error) {
	switch {
	case strings.HasPrefix(loc, "file://"):
		return openDiskStore(ctx, strings.TrimPrefix(loc, "file://"))
	case strings.Contains(loc, "://"), len(loc) >= 3 && strings.EqualFold(loc[:3], "s3:"):
		return openS3Store(ctx, loc, os.Getenv)
	default:
		return openDiskStore(ctx, loc)
	}
}

// openDiskStore opens (creating it if need be) the artifact folder dir.
func openDiskStore(ctx context.Context, dir string) (hangar.BlobStore, error) {
	s := disk.New(dir)
	if err := s.Init(ctx); err != nil {
		return nil, fmt.Errorf("open artifact store: %w", err)
	}
	return s, nil
}

// writeFileAtomic writes data to a temp file, syncs it and renames it into place.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := io.Copy(f, strings.NewReader(string(data))); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// redactDSN hides a password in a postgres:// URL before it is logged.
func redactDSN(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return dsn
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return dsn
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}
