package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/pyworker"
	"github.com/hangar-ml/hangar/serving"
)

// serveModelConfig is serve-model's configuration: flags, and the key
// from HANGAR_SERVE_KEY or a file.
type serveModelConfig struct {
	Model, Addr, Endpoint, Deployment string
	Code, ScoringScript               string // an Azure scoring script instead of a native model
	Workers                           int    // python worker processes of a scoring script
	ModelName, ModelVersion           string
	KeyFile                           string
	Instances, MaxConcurrent          int
	Timeout                           time.Duration
	CaptureDir                        string
	SamplingRate                      float64
	Sample                            string
	Pprof                             string // net/http/pprof's loopback address; "" = off
}

func newServeModelCmd(getenv env) *cobra.Command {
	var cfg serveModelConfig
	cmd := &cobra.Command{
		Use:   "serve-model",
		Short: "Serve one model folder on a scoring listener (no workspace server needed)",
		Long: `Serve one model folder — a Hangar or MLflow model folder, an XGBoost JSON or a
LightGBM text model — natively (in process, no Python) on a dedicated scoring listener,
as the one deployment of one endpoint. With --code and --scoring-script it serves an
Azure scoring script instead (init() once, run(raw_data) per request) in Debian python3
worker processes, with --model given to the script as AZUREML_MODEL_DIR:

  POST /endpoints/<endpoint>/score          Azure: {"data": [[...]]} or {"input_data": ...}
  POST /endpoints/<endpoint>/invocations    MLflow: dataframe_split, dataframe_records, instances, inputs, text/csv
  POST /endpoints/<endpoint>/v2/models/<endpoint>/infer   Open Inference Protocol V2
  GET  /endpoints/<endpoint>/v2/health/ready, /metrics

Callers send Authorization: Bearer <key>; the key comes from HANGAR_SERVE_KEY or --key-file.
The model takes traffic only after a smoke test (--sample, or one row of zeros) passes;
a scoring script only after its workers ran init() (and --sample, when given, passed).
SIGTERM or SIGINT stops accepting requests, drains those in flight and exits 0.`,
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Model, "model", "", "model folder or file (required without --scoring-script)")
	f.StringVar(&cfg.Code, "code", "", "folder of the scoring script (with --scoring-script)")
	f.StringVar(&cfg.ScoringScript, "scoring-script", "", "Azure scoring script, a .py path inside --code")
	f.IntVar(&cfg.Workers, "workers", 1, "python worker processes of the scoring script")
	f.StringVar(&cfg.Addr, "addr", "127.0.0.1:8090", "listen address")
	f.StringVar(&cfg.Endpoint, "endpoint", "default", "endpoint name in the URL")
	f.StringVar(&cfg.Deployment, "deployment", "blue", "deployment name")
	f.StringVar(&cfg.ModelName, "model-name", "", "model name for V2 metadata and capture")
	f.StringVar(&cfg.ModelVersion, "model-version", "", "model version for V2 metadata and capture")
	f.StringVar(&cfg.KeyFile, "key-file", "", "file holding the endpoint key (else $HANGAR_SERVE_KEY)")
	f.IntVar(&cfg.Instances, "instance-count", 1, "instances (concurrency slots) of the deployment")
	f.IntVar(&cfg.MaxConcurrent, "max-concurrent-requests-per-instance", 1, "requests running at once per instance; as many again wait, more get 429")
	f.DurationVar(&cfg.Timeout, "request-timeout", serving.DefaultRequestTimeout, "request timeout (408 after it)")
	f.StringVar(&cfg.CaptureDir, "capture-dir", "", "capture inputs and outputs as JSON lines under this folder")
	f.Float64Var(&cfg.SamplingRate, "sampling-rate", 1, "share of requests captured (with --capture-dir)")
	f.StringVar(&cfg.Sample, "sample", "", "smoke-test request body file (a /score body)")
	f.StringVar(&cfg.Pprof, "pprof", "", "serve Go profiles (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060 (off by default)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if cfg.Model == "" && cfg.ScoringScript == "" {
			return hangar.Errorf(hangar.EINVALID, "--model is required")
		}
		tuneGC(getenv)
		key := getenv("HANGAR_SERVE_KEY")
		if cfg.KeyFile != "" {
			b, err := os.ReadFile(cfg.KeyFile)
			if err != nil {
				return fmt.Errorf("--key-file: %w", err)
			}
			key = strings.TrimSpace(string(b))
		}
		if key == "" {
			return hangar.Errorf(hangar.EINVALID, "no endpoint key: set HANGAR_SERVE_KEY or --key-file")
		}
		logger := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
		if cfg.Pprof != "" {
			_, stop, err := startPprof(cfg.Pprof, logger)
			if err != nil {
				return err
			}
			defer stop()
		}
		return serveModel(cmd.Context(), cfg, key, logger, func(url string) {
			what := cfg.Model
			if cfg.ScoringScript != "" {
				what = filepath.Join(cfg.Code, cfg.ScoringScript)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "serving %s as %s/%s at %s/endpoints/%s/score\n", what, cfg.Endpoint, cfg.Deployment, url, cfg.Endpoint)
		})
	}
	return cmd
}

// serveModel runs the scoring listener until ctx ends, then drains it.
// ready is called with the listener's URL once the model takes traffic.
func serveModel(ctx context.Context, cfg serveModelConfig, key string, logger *slog.Logger, ready func(url string)) error {
	var sample []byte
	if cfg.Sample != "" {
		b, err := os.ReadFile(cfg.Sample)
		if err != nil {
			return fmt.Errorf("--sample: %w", err)
		}
		sample = b
	}
	reg := prometheus.NewRegistry()
	g := serving.NewGateway()
	g.Logger, g.Registerer = logger, reg
	spec := serving.DeploymentSpec{
		Endpoint: cfg.Endpoint, Name: cfg.Deployment, ModelName: cfg.ModelName, ModelVersion: cfg.ModelVersion,
		InstanceCount: cfg.Instances, MaxConcurrentRequestsPerInstance: cfg.MaxConcurrent,
		RequestTimeout: cfg.Timeout, Sample: sample,
	}
	if cfg.ScoringScript == "" && cfg.Code != "" {
		return hangar.Errorf(hangar.EINVALID, "--code needs --scoring-script")
	}
	if cfg.ScoringScript == "" {
		spec.ModelDir = cfg.Model
	}
	if cfg.CaptureDir != "" {
		g.Sink = &serving.DirSink{Dir: cfg.CaptureDir}
		spec.Capture.SamplingRate = cfg.SamplingRate
	}
	if err := g.Open(ctx); err != nil {
		return err
	}
	defer g.Close()
	ep := serving.EndpointConfig{Name: cfg.Endpoint, Keys: []string{key}}
	if err := g.SetEndpoint(ep); err != nil {
		return err
	}
	if cfg.ScoringScript != "" {
		// Started last: Deploy closes the runner when it fails, the
		// gateway's Close when it succeeded.
		pool, err := pyworker.Start(ctx, pyworker.Config{
			CodeDir: cfg.Code, ScoringScript: cfg.ScoringScript, ModelDir: cfg.Model,
			Workers: cfg.Workers, RequestTimeout: cfg.Timeout, Logger: logger,
		})
		if err != nil {
			return err
		}
		spec.Script = &scriptRunner{pool: pool}
	}
	if _, err := g.Deploy(ctx, spec); err != nil {
		if spec.Script != nil {
			_ = spec.Script.Close() // Deploy does not close it on a bad spec; a second Close is harmless
		}
		return err
	}
	ep.Traffic = map[string]int{cfg.Deployment: 100}
	if err := g.SetEndpoint(ep); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/endpoints/", g)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	logger.Info("hangar serve-model listening", "url", url, "endpoint", cfg.Endpoint, "deployment", cfg.Deployment, "model", cfg.Model)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	ready(url)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
