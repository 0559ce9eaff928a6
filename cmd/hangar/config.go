package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hangar-ml/hangar/httpapi"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// serverConfig is the configuration of `hangar server`. Precedence, lowest
// first: defaults, the config file, HANGAR_* environment variables, flags.
type serverConfig struct {
	Addr        string `yaml:"addr"`
	DataDir     string `yaml:"data_dir"`
	DB          string `yaml:"db"`
	Artifacts   string `yaml:"artifacts"`
	TLSCert     string `yaml:"tls_cert"`
	TLSKey      string `yaml:"tls_key"`
	KEKFile     string `yaml:"kek_file"`
	KEK         string `yaml:"-"` // only from HANGAR_KEK: a key does not belong in a config file
	DisableAuth bool   `yaml:"disable_auth"`
	// MetricsAuth requires a token holding metrics/read server-wide for /metrics.
	MetricsAuth bool `yaml:"metrics_auth"`
	// Timeouts bound slow and idle connections; zero fields are
	// httpapi.DefaultTimeouts. Tests shorten them.
	Timeouts httpapi.Timeouts `yaml:"-"`
	// JobParallel bounds the step runners the local compute runs at once.
	JobParallel string `yaml:"job_parallel"`
	// JobLease is how long a step runner's lease lasts without a
	// heartbeat: a runner lost for longer has its job queued again or
	// failed.
	JobLease string `yaml:"job_lease"`
	// EndpointSyncInterval is how often the release controller checks
	// whether another server sharing the database changed an online
	// endpoint (one read when nothing did); "0" turns it off.
	EndpointSyncInterval string `yaml:"endpoint_sync_interval"`
	// Demo creates a "demo" workspace at start (used by quickstart).
	Demo bool `yaml:"-"`
	// ScheduleClockRate, test-only (the hidden flag
	// --test-schedule-clock-rate), runs the schedule firer's clock this
	// many times faster than real time, from the server's start.
	ScheduleClockRate float64 `yaml:"-"`
}

// serverSettings lists every setting once: its flag, its environment
// variable and where it lives in serverConfig.
func serverSettings(c *serverConfig) []setting {
	return []setting{
		{"addr", "HANGAR_ADDR", &c.Addr, "address to listen on"},
		{"data-dir", "HANGAR_DATA_DIR", &c.DataDir, "data directory (default $HANGAR_HOME or ~/.hangar)"},
		{"db", "HANGAR_DB", &c.DB, "metadata store: a SQLite file path (default <data-dir>/hangar.db) or postgres://…"},
		{"artifacts", "HANGAR_ARTIFACTS", &c.Artifacts, "artifact store: a folder (default <data-dir>/artifacts) or s3://BUCKET[/PREFIX]"},
		{"tls-cert", "HANGAR_TLS_CERT", &c.TLSCert, "TLS certificate file (PEM); serve HTTPS with --tls-key"},
		{"tls-key", "HANGAR_TLS_KEY", &c.TLSKey, "TLS private key file (PEM)"},
		{"kek-file", "HANGAR_KEK_FILE", &c.KEKFile, "key-encryption key for secrets (default <data-dir>/kek, generated on first start)"},
		{"job-lease", "HANGAR_JOB_LEASE", &c.JobLease, "how long a job step's runner may go without reporting before its step is retried or failed (default 30s)"},
		{"job-parallel", "HANGAR_JOB_PARALLEL", &c.JobParallel, "job steps the local compute runs at once (default: the number of CPUs, at least 4)"},
		{"endpoint-sync-interval", "HANGAR_ENDPOINT_SYNC_INTERVAL", &c.EndpointSyncInterval, "how often online endpoints changed through other servers on the same database are applied to this one's scoring (default 2s; 0 turns it off)"},
	}
}

type setting struct {
	flag, env string
	field     *string
	usage     string
}

// bindServerFlags registers the flags of serverConfig on fs. They have no
// defaults of their own: loadServerConfig applies a flag only when it was
// given, so it can rank flags above the environment and the config file.
func bindServerFlags(fs *pflag.FlagSet) {
	for _, s := range serverSettings(&serverConfig{}) {
		fs.String(s.flag, "", s.usage)
	}
	fs.Bool("disable-auth", false, "serve without authentication (local use only: refused unless --addr is a loopback address)")
	fs.Bool("metrics-auth", false, "require a token holding metrics/read server-wide (Reader and above) for /metrics")
	fs.String("config", "", "server config file (YAML; default <data-dir>/server.yaml when present)")
}

// loadServerConfig resolves the configuration: defaults < file < env < flags.
func loadServerConfig(cmd *cobra.Command, getenv env) (*serverConfig, error) {
	c := &serverConfig{Addr: "127.0.0.1:8080"}
	fs := cmd.Flags()
	path, _ := fs.GetString("config")
	if path == "" {
		path = getenv("HANGAR_CONFIG")
	}
	explicit := path != ""
	if !explicit {
		dir := firstNonEmpty(flagOrEnv(fs, "data-dir", getenv("HANGAR_DATA_DIR")), defaultHome(getenv))
		path = filepath.Join(dir, "server.yaml")
	}
	if err := readYAMLFile(path, c, explicit); err != nil {
		return nil, err
	}
	for _, s := range serverSettings(c) {
		if v := getenv(s.env); v != "" {
			*s.field = v
		}
		if fs.Changed(s.flag) {
			*s.field, _ = fs.GetString(s.flag)
		}
	}
	c.KEK = getenv("HANGAR_KEK")
	if v := getenv("HANGAR_DISABLE_AUTH"); v != "" {
		c.DisableAuth = v == "1" || strings.EqualFold(v, "true")
	}
	if fs.Changed("disable-auth") {
		c.DisableAuth, _ = fs.GetBool("disable-auth")
	}
	var err error
	if c.MetricsAuth, err = boolSetting(fs, "metrics-auth", getenv("HANGAR_METRICS_AUTH"), c.MetricsAuth); err != nil {
		return nil, err
	}
	if c.DataDir == "" {
		c.DataDir = defaultHome(getenv)
	}
	if c.DB == "" {
		c.DB = filepath.Join(c.DataDir, "hangar.db")
	}
	if c.Artifacts == "" {
		c.Artifacts = filepath.Join(c.DataDir, "artifacts")
	}
	if c.KEKFile == "" && c.KEK == "" {
		c.KEKFile = filepath.Join(c.DataDir, "kek")
	}
	return c, c.validate()
}

func (c *serverConfig) validate() error {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("addr %q: want host:port (%v)", c.Addr, err)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("tls-cert and tls-key go together: give both or neither")
	}
	if c.DisableAuth && !isLoopback(host) {
		return fmt.Errorf("disable-auth is for local use only; addr %q is not a loopback address", c.Addr)
	}
	if _, err := c.jobParallel(); err != nil {
		return err
	}
	if _, err := c.jobLease(); err != nil {
		return err
	}
	if _, err := c.endpointSyncInterval(); err != nil {
		return err
	}
	return nil
}

// endpointSyncInterval is EndpointSyncInterval as a duration: 2 s when
// unset, 0 for off.
func (c *serverConfig) endpointSyncInterval() (time.Duration, error) {
	if c.EndpointSyncInterval == "" {
		return 2 * time.Second, nil
	}
	d, err := time.ParseDuration(c.EndpointSyncInterval)
	if c.EndpointSyncInterval == "0" {
		d, err = 0, nil
	}
	if err != nil || d != 0 && (d < 10*time.Millisecond || d > 10*time.Minute) {
		return 0, fmt.Errorf("endpoint-sync-interval %q: want 0 (off) or a duration from 10ms to 10m", c.EndpointSyncInterval)
	}
	return d, nil
}

// jobLease is JobLease as a duration: 30 s when unset.
func (c *serverConfig) jobLease() (time.Duration, error) {
	if c.JobLease == "" {
		return 30 * time.Second, nil
	}
	d, err := time.ParseDuration(c.JobLease)
	if err != nil || d < time.Second || d > 10*time.Minute {
		return 0, fmt.Errorf("job-lease %q: want a duration from 1s to 10m", c.JobLease)
	}
	return d, nil
}

// jobParallel is JobParallel as a number; when unset, the CPUs, at least 4:
// steps wait on files and the network as much as they compute.
func (c *serverConfig) jobParallel() (int, error) {
	if c.JobParallel == "" {
		return max(4, runtime.NumCPU()), nil
	}
	n, err := strconv.Atoi(c.JobParallel)
	if err != nil || n < 1 || n > 1024 {
		return 0, fmt.Errorf("job-parallel %q: want a number from 1 to 1024", c.JobParallel)
	}
	return n, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// boolSetting resolves a boolean setting: the flag when given, else the
// environment variable when set ("1", "true", "0", "false"), else the value
// from the config file.
func boolSetting(fs *pflag.FlagSet, flag, envValue string, fromFile bool) (bool, error) {
	if fs.Changed(flag) {
		return fs.GetBool(flag)
	}
	switch strings.ToLower(envValue) {
	case "":
		return fromFile, nil
	case "1", "true":
		return true, nil
	case "0", "false":
		return false, nil
	}
	return false, fmt.Errorf("%s: want true or false, got %q", flag, envValue)
}

func flagOrEnv(fs *pflag.FlagSet, name, envValue string) string {
	if fs.Changed(name) {
		v, _ := fs.GetString(name)
		return v
	}
	return envValue
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// defaultHome is $HANGAR_HOME, else ~/.hangar.
func defaultHome(getenv env) string {
	if h := getenv("HANGAR_HOME"); h != "" {
		return h
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".hangar")
}

// readYAMLFile decodes a YAML file strictly into v. A missing file is an
// error only when it was asked for explicitly.
func readYAMLFile(path string, v any, mustExist bool) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && !mustExist {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %s", path, goTypeRE.ReplaceAllString(err.Error(), ""))
	}
	return nil
}

// goTypeRE matches the Go type names that YAML errors mention (" in type
// main.serverConfig"), which mean nothing to a user.
var goTypeRE = regexp.MustCompile(` in type [^\n]*`)
