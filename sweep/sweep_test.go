package sweep

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

func f(v float64) *float64 { return &v }
func i64(v int64) *int64   { return &v }

func TestParamCheck(t *testing.T) {
	tests := []struct {
		name string
		p    Param
		want string // substring of the problem; "" for none
	}{
		{"choice", Param{Type: Choice, Values: []string{"a", "1"}}, ""},
		{"randint", Param{Type: RandInt, Upper: i64(3)}, ""},
		{"uniform", Param{Type: Uniform, MinValue: f(0), MaxValue: f(1)}, ""},
		{"qlognormal", Param{Type: QLogNormal, Mu: f(0), Sigma: f(1), Q: f(1)}, ""},
		{"unknown", Param{Type: "gaussian"}, `unknown distribution "gaussian"`},
		{"empty choice", Param{Type: Choice, Values: []string{}}, "choice needs at least one value"},
		{"choice twice", Param{Type: Choice, Values: []string{"a", "a"}}, `choice lists "a" twice`},
		{"randint zero", Param{Type: RandInt, Upper: i64(0)}, "randint upper must be at least 1"},
		{"uniform reversed", Param{Type: Uniform, MinValue: f(2), MaxValue: f(1)}, "min_value 2 must be below max_value 1"},
		{"uniform equal", Param{Type: Uniform, MinValue: f(1), MaxValue: f(1)}, "must be below"},
		{"uniform with mu", Param{Type: Uniform, MinValue: f(0), MaxValue: f(1), Mu: f(0)}, "uniform takes min_value, max_value, not mu"},
		{"quniform without q", Param{Type: QUniform, MinValue: f(0), MaxValue: f(1)}, "quniform needs q"},
		{"q zero", Param{Type: QUniform, MinValue: f(0), MaxValue: f(1), Q: f(0)}, "q must be positive"},
		{"sigma negative", Param{Type: Normal, Mu: f(0), Sigma: f(-1)}, "sigma must be positive"},
		{"loguniform overflow", Param{Type: LogUniform, MinValue: f(0), MaxValue: f(1000)}, "natural logarithms"},
		{"nan", Param{Type: Normal, Mu: f(math.NaN()), Sigma: f(1)}, "finite"},
		{"normal missing sigma", Param{Type: Normal, Mu: f(0)}, "normal needs sigma"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.p.Check()
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func validConfig() *Config {
	c := &Config{
		Space: Space{
			"lr":    {Type: Uniform, MinValue: f(0.01), MaxValue: f(0.1)},
			"depth": {Type: Choice, Values: []string{"3", "5"}},
		},
		Algorithm: Random, Seed: 7, Goal: Maximize, PrimaryMetric: "auc", MaxTotalTrials: 10,
	}
	c.Defaults()
	return c
}

func TestConfigProblems(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		key    string
		want   string
	}{
		{"empty space", func(c *Config) { c.Space = Space{} }, "search_space", "is empty"},
		{"grid uniform", func(c *Config) { c.Algorithm = Grid; c.Rule = "" }, "search_space.lr", "grid sampling takes choice parameters only"},
		{"bayesian normal", func(c *Config) {
			c.Algorithm, c.Rule = Bayesian, ""
			c.Space["n"] = &Param{Type: Normal, Mu: f(0), Sigma: f(1)}
		}, "search_space.n", "bayesian sampling takes choice, uniform and quniform"},
		{"bayesian with policy", func(c *Config) {
			c.Algorithm, c.Rule = Bayesian, ""
			c.Policy = &Policy{Type: MedianStopping, EvaluationInterval: 1}
		}, "early_termination", "bayesian sampling takes no early termination policy"},
		{"sobol", func(c *Config) { c.Rule = "sobol" }, "sampling_algorithm.rule", "rule sobol is not supported"},
		{"unknown algorithm", func(c *Config) { c.Algorithm = "hyperband" }, "sampling_algorithm", `unknown sampling algorithm "hyperband"`},
		{"goal", func(c *Config) { c.Goal = "max" }, "objective.goal", "must be minimize or maximize"},
		{"no metric", func(c *Config) { c.PrimaryMetric = "" }, "objective.primary_metric", "is required"},
		{"too many trials", func(c *Config) { c.MaxTotalTrials = 5000 }, "limits.max_total_trials", "must be 1 to 1000"},
		{"bandit both slacks", func(c *Config) {
			c.Policy = &Policy{Type: Bandit, SlackFactor: f(0.1), SlackAmount: f(0.1), EvaluationInterval: 1}
		}, "early_termination", "exactly one of slack_factor and slack_amount"},
		{"bandit no slack", func(c *Config) { c.Policy = &Policy{Type: Bandit, EvaluationInterval: 1} }, "early_termination", "exactly one"},
		{"truncation 100", func(c *Config) {
			c.Policy = &Policy{Type: TruncationSelection, TruncationPercentage: 100, EvaluationInterval: 1}
		}, "early_termination.truncation_percentage", "1 to 99"},
		{"median with slack", func(c *Config) {
			c.Policy = &Policy{Type: MedianStopping, SlackFactor: f(0.1), EvaluationInterval: 1}
		}, "early_termination", "slack_factor and slack_amount are for the bandit policy"},
		{"unknown policy", func(c *Config) { c.Policy = &Policy{Type: "asha", EvaluationInterval: 1} }, "early_termination.type", `unknown early termination policy "asha"`},
		{"delay negative", func(c *Config) {
			c.Policy = &Policy{Type: MedianStopping, EvaluationInterval: 1, DelayEvaluation: -1}
		}, "early_termination.delay_evaluation", "0 or more"},
	}
	if ps := validConfig().Problems(); len(ps) != 0 {
		t.Fatalf("valid config: got %v, want no problems", ps)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(c)
			ps := c.Problems()
			for _, p := range ps {
				if p.Key == tt.key && strings.Contains(p.Msg, tt.want) {
					if err := c.Validate(); hangar.ErrorCode(err) != hangar.EINVALID {
						t.Errorf("Validate: got %v, want EINVALID", err)
					}
					return
				}
			}
			t.Errorf("got %v, want %s: …%s…", ps, tt.key, tt.want)
		})
	}
}

// TestSampleSupport draws many values of every distribution and checks
// each lies in the distribution's support and, for the q forms, on the
// grid of q.
func TestSampleSupport(t *testing.T) {
	tests := []struct {
		p     Param
		check func(v float64) bool
	}{
		{Param{Type: RandInt, Upper: i64(4)}, func(v float64) bool { return v >= 0 && v <= 3 && v == math.Trunc(v) }},
		{Param{Type: Uniform, MinValue: f(-1), MaxValue: f(2)}, func(v float64) bool { return v >= -1 && v <= 2 }},
		{Param{Type: QUniform, MinValue: f(0), MaxValue: f(10), Q: f(2)}, func(v float64) bool { return v >= 0 && v <= 10 && math.Mod(v, 2) == 0 }},
		{Param{Type: LogUniform, MinValue: f(math.Log(0.001)), MaxValue: f(math.Log(0.1))}, func(v float64) bool { return v >= 0.001-1e-12 && v <= 0.1+1e-12 }},
		{Param{Type: QLogUniform, MinValue: f(0), MaxValue: f(math.Log(100)), Q: f(1)}, func(v float64) bool { return v >= 1 && v <= 100 && v == math.Trunc(v) }},
		{Param{Type: Normal, Mu: f(10), Sigma: f(1)}, func(v float64) bool { return v > 0 && v < 20 }},
		{Param{Type: QNormal, Mu: f(10), Sigma: f(3), Q: f(5)}, func(v float64) bool { return math.Mod(v, 5) == 0 }},
		{Param{Type: LogNormal, Mu: f(0), Sigma: f(1)}, func(v float64) bool { return v > 0 }},
		{Param{Type: QLogNormal, Mu: f(2), Sigma: f(0.5), Q: f(1)}, func(v float64) bool { return v >= 0 && v == math.Trunc(v) }},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, tt := range tests {
		t.Run(tt.p.Type, func(t *testing.T) {
			if msg := tt.p.Check(); msg != "" {
				t.Fatal(msg)
			}
			sum := 0.0
			for range 2000 {
				s := tt.p.Sample(r)
				v, err := strconv.ParseFloat(s, 64)
				if err != nil || !tt.check(v) {
					t.Fatalf("got %q, outside the support", s)
				}
				sum += v
			}
			// The mean of a normal is mu; of a uniform the middle.
			switch tt.p.Type {
			case Normal:
				if m := sum / 2000; math.Abs(m-10) > 0.1 {
					t.Errorf("mean: got %v, want 10 ± 0.1", m)
				}
			case Uniform:
				if m := sum / 2000; math.Abs(m-0.5) > 0.1 {
					t.Errorf("mean: got %v, want 0.5 ± 0.1", m)
				}
			}
		})
	}
}

func TestSuggestGrid(t *testing.T) {
	c := &Config{Space: Space{
		"a": {Type: Choice, Values: []string{"1", "2"}},
		"b": {Type: Choice, Values: []string{"x", "y", "z"}},
	}, Algorithm: Grid, Goal: Minimize, PrimaryMetric: "loss", MaxTotalTrials: 100}
	c.Defaults()
	if got := c.Trials(); got != 6 {
		t.Fatalf("Trials: got %d, want 6 (the grid's size)", got)
	}
	seen := map[string]bool{}
	for i := range 6 {
		p, ok := c.Suggest(i, nil)
		if !ok {
			t.Fatalf("trial %d: got no point", i)
		}
		seen[p["a"]+p["b"]] = true
	}
	if len(seen) != 6 {
		t.Errorf("got %d distinct points, want 6: %v", len(seen), seen)
	}
	if _, ok := c.Suggest(6, nil); ok {
		t.Error("trial 6: got a point past the grid")
	}
}

func TestSuggestRandomDeterministic(t *testing.T) {
	c := validConfig()
	for i := range 10 {
		a, _ := c.Suggest(i, nil)
		b, _ := c.Suggest(i, nil)
		if a["lr"] != b["lr"] || a["depth"] != b["depth"] {
			t.Fatalf("trial %d: got %v then %v, want the same", i, a, b)
		}
	}
	a, _ := c.Suggest(0, nil)
	c.Seed = 8
	b, _ := c.Suggest(0, nil)
	if a["lr"] == b["lr"] {
		t.Errorf("seeds 7 and 8 drew the same lr %s", a["lr"])
	}
}

// TestBayesianBeatsRandom: on a smooth function of one parameter, TPE's
// later suggestions land nearer the optimum than random ones.
func TestBayesianBeatsRandom(t *testing.T) {
	objective := func(x float64) float64 { return (x - 0.7) * (x - 0.7) }
	run := func(alg string) float64 {
		c := &Config{Space: Space{"x": {Type: Uniform, MinValue: f(0), MaxValue: f(1)}}, Algorithm: alg, Seed: 3,
			Goal: Minimize, PrimaryMetric: "loss", MaxTotalTrials: 60}
		c.Defaults()
		var obs []Observation
		errSum := 0.0
		for i := range 60 {
			p, _ := c.Suggest(i, obs)
			x, _ := strconv.ParseFloat(p["x"], 64)
			obs = append(obs, Observation{Params: p, Value: objective(x)})
			if i >= 30 {
				errSum += math.Abs(x - 0.7)
			}
		}
		return errSum / 30
	}
	tpe, rnd := run(Bayesian), run(Random)
	if !(tpe < rnd/2) {
		t.Errorf("mean distance to the optimum in trials 30-59: bayesian %v, random %v; want bayesian under half of random", tpe, rnd)
	}
}

func TestStopBandit(t *testing.T) {
	c := validConfig()
	c.Policy = &Policy{Type: Bandit, SlackFactor: f(0.2), EvaluationInterval: 1}
	// Azure's example: best 0.8 at the interval, slack 0.2: stop under 0.8/1.2 = 0.667.
	series := map[string][]float64{"best": {0.5, 0.8}, "close": {0.5, 0.7}, "far": {0.5, 0.6}}
	if why := c.Stop("close", series); why != "" {
		t.Errorf("close (0.7): got stop %q, want to run on", why)
	}
	if why := c.Stop("far", series); !strings.Contains(why, "interval 2") {
		t.Errorf("far (0.6): got %q, want a stop at interval 2", why)
	}
	c.Policy.DelayEvaluation = 3
	if why := c.Stop("far", series); why != "" {
		t.Errorf("delay_evaluation 3: got stop %q, want none before interval 3", why)
	}
	c.Policy = &Policy{Type: Bandit, SlackAmount: f(0.1), EvaluationInterval: 2}
	c.Goal = Minimize
	series = map[string][]float64{"a": {1, 0.25}, "b": {0.1, 0.35}}
	if why := c.Stop("b", series); why != "" {
		t.Errorf("minimize, b's best 0.1 is the best: got stop %q", why)
	}
	if why := c.Stop("a", series); !strings.Contains(why, "bandit") {
		t.Errorf("minimize, a's best 0.25 > 0.1+0.1: got %q, want a stop", why)
	}
}

func TestStopMedianAndTruncation(t *testing.T) {
	c := validConfig()
	c.Policy = &Policy{Type: MedianStopping, EvaluationInterval: 1}
	series := map[string][]float64{"a": {0.9}, "b": {0.8}, "c": {0.7}, "d": {0.1}}
	if why := c.Stop("d", series); !strings.Contains(why, "median") {
		t.Errorf("d: got %q, want a median stop", why)
	}
	if why := c.Stop("b", series); why != "" {
		t.Errorf("b: got %q, want to run on", why)
	}
	c.Policy = &Policy{Type: TruncationSelection, TruncationPercentage: 25, EvaluationInterval: 1}
	if why := c.Stop("d", series); !strings.Contains(why, "lowest 25%") {
		t.Errorf("d: got %q, want truncated", why)
	}
	if why := c.Stop("c", series); why != "" {
		t.Errorf("c: got %q, want to run on (1 of 4 is cut)", why)
	}
}

func TestParseConfig(t *testing.T) {
	good := `{"search_space":{"x":{"type":"choice","values":["1","2"]}},"sampling_algorithm":"grid","goal":"minimize","primary_metric":"loss","max_total_trials":0,"max_concurrent_trials":0,"timeout_seconds":0}`
	c, err := ParseConfig([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxTotalTrials != DefaultMaxTrials || c.MaxConcurrentTrials != DefaultMaxTrials || c.TimeoutSeconds != DefaultTimeout {
		t.Errorf("defaults: got %d, %d, %d", c.MaxTotalTrials, c.MaxConcurrentTrials, c.TimeoutSeconds)
	}
	for _, bad := range []string{`{`, `{"search_space":{}, "extra": 1}`, `{"search_space":{"x":{"type":"nope"}}}`, `{} {}`} {
		if _, err := ParseConfig([]byte(bad)); hangar.ErrorCode(err) != hangar.EINVALID {
			t.Errorf("%s: got %v, want EINVALID", bad, err)
		}
	}
}

// FuzzParseConfig: any input parses or is refused with EINVALID; what
// parses suggests valid points and judges series without panicking.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"search_space":{"x":{"type":"choice","values":["1","2"]}},"sampling_algorithm":"grid","goal":"minimize","primary_metric":"loss","max_total_trials":4,"max_concurrent_trials":2,"timeout_seconds":60}`))
	f.Add([]byte(`{"search_space":{"x":{"type":"quniform","min_value":0,"max_value":3,"q":0.5},"y":{"type":"choice","values":["a"]}},"sampling_algorithm":"bayesian","goal":"maximize","primary_metric":"auc","max_total_trials":20,"max_concurrent_trials":2,"timeout_seconds":60}`))
	f.Add([]byte(`{"search_space":{"x":{"type":"qlognormal","mu":1,"sigma":2,"q":1}},"sampling_algorithm":"random","seed":5,"goal":"maximize","primary_metric":"auc","max_total_trials":3,"max_concurrent_trials":1,"timeout_seconds":1,"early_termination":{"type":"bandit","slack_factor":0.1,"evaluation_interval":1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
			return
		}
		var obs []Observation
		series := map[string][]float64{}
		for i := range min(c.Trials(), 15) {
			p, ok := c.Suggest(i, obs)
			if !ok {
				t.Fatalf("trial %d of %d: no point", i, c.Trials())
			}
			if len(p) != len(c.Space) {
				t.Fatalf("trial %d: got %d parameters, want %d", i, len(p), len(c.Space))
			}
			obs = append(obs, Observation{Params: p, Value: float64(i % 3)})
			series[strconv.Itoa(i)] = []float64{float64(i % 4), float64(i % 5)}
		}
		for name := range series {
			c.Stop(name, series)
		}
	})
}
