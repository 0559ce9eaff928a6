package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow"
)

// logTarget is the run `hangar log` writes to: MLFLOW_RUN_ID (or --run-id)
// on the tracking server of MLFLOW_TRACKING_URI, with MLFLOW_TRACKING_TOKEN
// (or MLFLOW_TRACKING_USERNAME/_PASSWORD): the variables a job step
// receives. Every `hangar log` verb resolves it with client.
type logTarget struct {
	getenv env
	runID  string // --run-id, a persistent flag of `hangar log`
}

// client returns the MLflow client and the run id to log to. Errors:
// EINVALID when no run is named or MLFLOW_TRACKING_URI is unset or not an
// http(s) URL.
func (t *logTarget) client() (*mlflow.Client, string, error) {
	te := trackingEnv(t.getenv)
	runID := firstNonEmpty(t.runID, te.RunID)
	if runID == "" {
		return nil, "", invalidf("no run to log to: set %s (a job step receives it) or pass --run-id", mlflow.EnvRunID)
	}
	c, err := te.Client()
	if err != nil {
		return nil, "", err
	}
	return c, runID, nil
}

const logHelp = `Log to an MLflow run without Python: metrics, params, tags and (with
'hangar log artifact') files, to the run in MLFLOW_RUN_ID (or --run-id) at the
tracking server MLFLOW_TRACKING_URI, authenticated with MLFLOW_TRACKING_TOKEN
(or HTTP Basic with MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD).
A job step receives these variables; the server may be Hangar's own or any
MLflow tracking server.`

// newLogCmd is `hangar log`. Its verbs are metric, param, tag and batch;
// more (`hangar log artifact`) come in as constructors that take the
// shared logTarget, so every verb logs to the same run the same way.
func newLogCmd(getenv env, more ...func(*logTarget) *cobra.Command) *cobra.Command {
	t := &logTarget{getenv: getenv}
	cmd := newGroup("log", "Log metrics, params, tags and artifacts to the MLflow run of $MLFLOW_RUN_ID")
	cmd.Long = logHelp
	cmd.PersistentFlags().StringVar(&t.runID, "run-id", "", "run to log to (default $MLFLOW_RUN_ID)")
	logCmds := []*cobra.Command{newLogMetricCmd(t), newLogParamCmd(t), newLogTagCmd(t), newLogBatchCmd(t)}
	for _, m := range more {
		logCmds = append(logCmds, m(t))
	}
	cmd.AddCommand(logCmds...)
	return cmd
}

func newLogMetricCmd(t *logTarget) *cobra.Command {
	var step, timestamp int64
	cmd := &cobra.Command{
		Use:   "metric NAME VALUE",
		Short: "Log one value of a metric (POST runs/log-metric)",
		Long: `Log one value of a metric at a step (default 0) and a time (default now,
in Unix milliseconds). VALUE is a number; nan, inf and -inf are accepted, and
a negative VALUE needs no "--".`,
		Example: "  hangar log metric loss 0.25 --step 3\n  hangar log metric log_likelihood -1.5",
	}
	cmd.Flags().Int64Var(&step, "step", 0, "step of the value")
	cmd.Flags().Int64Var(&timestamp, "timestamp", 0, "time of the value in Unix milliseconds (default now)")
	positional(cmd, 2, func(cmd *cobra.Command, args []string) error {
		name := args[0]
		v, err := parseMetricValue(args[1])
		if err != nil {
			return err
		}
		if !cmd.Flags().Changed("timestamp") {
			timestamp = time.Now().UnixMilli()
		}
		m := hangar.Metric{Key: name, Value: v, Timestamp: timestamp, Step: step}
		if err := hangar.ValidateMetric(m); err != nil {
			return err
		}
		c, runID, err := t.client()
		if err != nil {
			return err
		}
		return c.LogMetric(cmd.Context(), runID, mlflow.Metric{Key: name, Value: mlflow.Double(v), Timestamp: mlflow.Int64(timestamp), Step: mlflow.Int64(step)})
	})
	return cmd
}

func newLogParamCmd(t *logTarget) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "param NAME VALUE",
		Short: "Log a param (POST runs/log-parameter); a logged param cannot change value",
	}
	positional(cmd, 2, func(cmd *cobra.Command, args []string) error {
		p := hangar.Param{Key: args[0], Value: args[1]}
		if err := hangar.ValidateParam(p); err != nil {
			return err
		}
		c, runID, err := t.client()
		if err != nil {
			return err
		}
		return c.LogParam(cmd.Context(), runID, mlflow.Param{Key: p.Key, Value: p.Value})
	})
	return cmd
}

func newLogTagCmd(t *logTarget) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tag NAME VALUE",
		Short: "Set a tag of the run (POST runs/set-tag), replacing its value",
	}
	positional(cmd, 2, func(cmd *cobra.Command, args []string) error {
		tag := hangar.RunTag{Key: args[0], Value: args[1]}
		if err := hangar.ValidateRunTag(tag); err != nil {
			return err
		}
		c, runID, err := t.client()
		if err != nil {
			return err
		}
		return c.SetTag(cmd.Context(), runID, mlflow.RunTag{Key: tag.Key, Value: tag.Value})
	})
	return cmd
}

const logBatchHelp = `Log many metrics, params and tags read from stdin, one JSON object a line:

  {"metric": "loss", "value": 0.25, "step": 3, "timestamp": 1700000000000}
  {"param": "learning_rate", "value": "0.1"}
  {"tag": "stage", "value": "tuning"}

A metric's value is a number or "NaN", "Infinity", "-Infinity"; step defaults
to 0 and timestamp (Unix milliseconds) to the time the line was read. A param's
or tag's value is a string (a number is taken as written). Blank lines are
skipped. Every line is checked before anything is sent: a bad line is an error
naming its line number and nothing is logged. The points then go out in
runs/log-batch requests within MLflow's limits (1000 metrics, 100 params,
100 tags a request), in order. A param given twice with the same value is
sent once; with different values it is an error.`

// maxLogLine bounds one line of `hangar log batch`: far above the longest
// legal line (a 6000-character param value, a 5000-character tag value).
const maxLogLine = 1 << 20

func newLogBatchCmd(t *logTarget) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "batch",
		Short: "Log metrics, params and tags read as JSON lines from stdin (runs/log-batch)",
		Long:  logBatchHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, runID, err := t.client()
			if err != nil {
				return err
			}
			b, err := readLogBatch(cmd.InOrStdin(), func() int64 { return time.Now().UnixMilli() })
			if err != nil {
				return err
			}
			if err := c.LogBatch(cmd.Context(), runID, b.Metrics, b.Params, b.Tags); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "logged %s, %s and %s to run %s\n",
				plural(len(b.Metrics), "metric"), plural(len(b.Params), "param"), plural(len(b.Tags), "tag"), runID)
			return nil
		},
	}
	return cmd
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// logLine is one line of `hangar log batch`.
type logLine struct {
	Metric    *string         `json:"metric"`
	Param     *string         `json:"param"`
	Tag       *string         `json:"tag"`
	Value     json.RawMessage `json:"value"`
	Step      *mlflow.Int64   `json:"step"`
	Timestamp *mlflow.Int64   `json:"timestamp"`
}

// readLogBatch reads and checks the JSON lines of `hangar log batch`;
// now gives the timestamp of a metric that has none. Errors: EINVALID
// naming the first bad line.
func readLogBatch(r io.Reader, now func() int64) (*mlflow.LogBatch, error) {
	b := &mlflow.LogBatch{}
	paramLine := map[string]int{} // key → line that logged it
	paramValue := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLogLine)
	n := 0
	for sc.Scan() {
		n++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		lineErr := func(format string, args ...any) error {
			return invalidf("stdin line %d: %s", n, fmt.Sprintf(format, args...))
		}
		var l logLine
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return nil, lineErr("%s", jsonLineError(err))
		}
		if dec.More() {
			return nil, lineErr("more than one JSON value")
		}
		kinds := 0
		for _, k := range []*string{l.Metric, l.Param, l.Tag} {
			if k != nil {
				kinds++
			}
		}
		if kinds != 1 {
			return nil, lineErr(`want exactly one of "metric", "param" or "tag" naming what to log`)
		}
		if len(l.Value) == 0 || string(l.Value) == "null" {
			what, key := "metric", l.Metric
			if l.Param != nil {
				what, key = "param", l.Param
			} else if l.Tag != nil {
				what, key = "tag", l.Tag
			}
			return nil, lineErr("%s %q has no \"value\"", what, *key)
		}
		switch {
		case l.Metric != nil:
			var v mlflow.Double
			if err := json.Unmarshal(l.Value, &v); err != nil {
				return nil, lineErr("metric %q: value %s: want a number, \"NaN\", \"Infinity\" or \"-Infinity\"", *l.Metric, clipJSON(l.Value))
			}
			m := mlflow.Metric{Key: *l.Metric, Value: v}
			if l.Step != nil {
				m.Step = *l.Step
			}
			if l.Timestamp != nil {
				m.Timestamp = *l.Timestamp
			} else {
				m.Timestamp = mlflow.Int64(now())
			}
			if err := hangar.ValidateMetric(hangar.Metric{Key: m.Key, Value: float64(m.Value), Timestamp: int64(m.Timestamp), Step: int64(m.Step)}); err != nil {
				return nil, lineErr("%s", hangar.ErrorMessage(err))
			}
			b.Metrics = append(b.Metrics, m)
		default:
			what, key := "param", l.Param
			if l.Tag != nil {
				what, key = "tag", l.Tag
			}
			if l.Step != nil || l.Timestamp != nil {
				return nil, lineErr("%s %q: step and timestamp are for metrics only", what, *key)
			}
			v, ok := textValue(l.Value)
			if !ok {
				return nil, lineErr("%s %q: value %s: want a string or a number", what, *key, clipJSON(l.Value))
			}
			if what == "param" {
				if err := hangar.ValidateParam(hangar.Param{Key: *key, Value: v}); err != nil {
					return nil, lineErr("%s", hangar.ErrorMessage(err))
				}
				if first, seen := paramLine[*key]; seen {
					if paramValue[*key] != v {
						return nil, lineErr("param %q was given the value %q on line %d: a param cannot change value", *key, truncateText(paramValue[*key], 40), first)
					}
					continue // the same value again: MLflow refuses a key twice in one batch
				}
				paramLine[*key], paramValue[*key] = n, v
				b.Params = append(b.Params, mlflow.Param{Key: *key, Value: v})
				continue
			}
			if err := hangar.ValidateRunTag(hangar.RunTag{Key: *key, Value: v}); err != nil {
				return nil, lineErr("%s", hangar.ErrorMessage(err))
			}
			if c := utf8.RuneCountInString(v); c > mlflow.MaxTagValueLength {
				// The client would cut it to what MLflow 2.x takes; say so instead.
				return nil, lineErr("tag %q: value of %d characters, over the %d a log-batch sends (use hangar log tag)", *key, c, mlflow.MaxTagValueLength)
			}
			b.Tags = append(b.Tags, mlflow.RunTag{Key: *key, Value: v})
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, invalidf("stdin line %d: longer than %d bytes", n+1, maxLogLine)
		}
		return nil, cliError(err, "read stdin")
	}
	return b, nil
}

// jsonLineError says what is wrong with a line that is not a log object.
func jsonLineError(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		if te.Field == "" {
			return "want a JSON object such as {\"metric\": \"loss\", \"value\": 0.5}"
		}
		return fmt.Sprintf("%q: want a %s", te.Field, te.Type)
	case errors.As(err, &se):
		return "not JSON: " + se.Error()
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return strings.TrimPrefix(err.Error(), "json: ") + `: want "metric", "param" or "tag", "value", "step", "timestamp"`
	}
	var he *hangar.Error
	if errors.As(err, &he) {
		return he.Message
	}
	return err.Error()
}

// textValue reads a param or tag value: a JSON string, or a number kept as
// written.
func textValue(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), true
	}
	return "", false
}

func clipJSON(raw json.RawMessage) string { return truncateText(string(raw), 40) }

func truncateText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// parseMetricValue reads a metric value given on the command line: a
// number, or nan, inf, +inf, -inf, infinity in any case. Errors: EINVALID.
func parseMetricValue(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	var ne *strconv.NumError
	if err != nil && !(errors.As(err, &ne) && ne.Err == strconv.ErrRange && math.IsInf(v, 0)) {
		return 0, invalidf("metric value %q: want a number (or nan, inf, -inf)", s)
	}
	if err != nil {
		return 0, invalidf("metric value %q is out of range: write inf or -inf", s)
	}
	return v, nil
}

// negativeArg matches an argument that is a negative number (or -inf,
// -infinity) and so a value, not a flag.
var negativeArg = regexp.MustCompile(`(?i)^-(\d|\.\d|inf(inity)?$)`)

// positional sets cmd up to take exactly n positional arguments, of which
// any may be a negative number ("hangar log metric loss -0.5 --step 3"):
// cobra would read -0.5 as a flag, so the command parses its own flags,
// setting such arguments aside first.
func positional(cmd *cobra.Command, n int, run func(*cobra.Command, []string) error) {
	cmd.DisableFlagParsing = true
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		fs := pflag.NewFlagSet(cmd.Name(), pflag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.AddFlagSet(cmd.LocalFlags())
		fs.AddFlagSet(cmd.InheritedFlags())
		const mark = "\x00" // no flag starts with it; taken off after parsing
		rewritten := make([]string, len(args))
		for i, a := range args {
			rewritten[i] = a
			if negativeArg.MatchString(a) && !(i > 0 && takesValue(fs, args[i-1])) {
				rewritten[i] = mark + a
			}
			if a == "--" {
				copy(rewritten[i:], args[i:])
				break
			}
		}
		if err := fs.Parse(rewritten); err != nil {
			if errors.Is(err, pflag.ErrHelp) {
				return cmd.Help()
			}
			return invalidf("%s: %v", cmd.CommandPath(), err)
		}
		if help, _ := fs.GetBool("help"); help {
			return cmd.Help()
		}
		pos := fs.Args()
		for i := range pos {
			pos[i] = strings.TrimPrefix(pos[i], mark)
		}
		if len(pos) != n {
			return invalidf("%s takes %d arguments (%s), got %d", cmd.CommandPath(), n, strings.TrimPrefix(cmd.Use, cmd.Name()+" "), len(pos))
		}
		return run(cmd, pos)
	}
}

// takesValue reports whether arg is a flag of fs that takes the next
// argument as its value ("--step", "-w"; not "--step=3" or a bool flag).
func takesValue(fs *pflag.FlagSet, arg string) bool {
	var f *pflag.Flag
	switch {
	case strings.HasPrefix(arg, "--"):
		if strings.Contains(arg, "=") {
			return false
		}
		f = fs.Lookup(arg[2:])
	case strings.HasPrefix(arg, "-") && len(arg) == 2:
		f = fs.ShorthandLookup(arg[1:])
	}
	return f != nil && f.NoOptDefVal == ""
}
