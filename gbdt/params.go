// Package gbdt trains gradient-boosted decision trees with XGBoost's
// histogram method ("hist") and XGBoost's parameter names, defaults and
// semantics, and writes the result in XGBoost's JSON model format, so the
// same runtime (package trees) serves Hangar's models and XGBoost's, and
// XGBoost itself can load Hangar's.
//
// The algorithm: features are cut into at most max_bin bins at quantiles of
// their (float32) values; each tree grows depth-wise (grow_policy
// depthwise: a level at a time) or loss-guided (lossguide: the leaf whose
// split gains most first), up to max_depth and max_leaves; a node's histogram of
// gradient and hessian sums is built for the smaller child only, the larger
// child's is the parent's minus the smaller's; splits maximise the
// second-order gain G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ) and send missing
// values the way that gains most (sparsity-aware split finding); leaves
// weigh −G/(H+λ)·eta.
package gbdt

import (
	"cmp"
	"math"
	"runtime"

	"github.com/hangar-ml/hangar"
)

// Grow policies (XGBoost's grow_policy).
const (
	// Depthwise splits every splittable node of a level, in node order,
	// before the next level.
	Depthwise = "depthwise"
	// Lossguide splits the leaf with the largest loss change first (ties:
	// the older node), as LightGBM does.
	Lossguide = "lossguide"
)

// DefaultBaseScore is the initial prediction, as in XGBoost 1.7: 0.5, in
// output space (a probability for binary:logistic, so margin 0). XGBoost
// 2.x estimates it from the labels instead; Hangar keeps 1.7's constant so
// that models match XGBoost 1.7 trained with the same parameters, and
// writes it into the model file either way.
const DefaultBaseScore = 0.5

// Params are the training parameters, named as XGBoost names them.
type Params struct {
	Objective string // reg:squarederror (default), binary:logistic, multi:softmax, multi:softprob
	// NumClass is the number of classes for multi:*; 0 means max(label)+1.
	NumClass     int
	NEstimators  int     // boosting rounds (n_estimators, num_boost_round); default 100
	LearningRate float64 // eta; default 0.3
	// MaxDepth is the maximum tree depth; default 6. 0 means no limit and
	// needs GrowPolicy lossguide (Hangar refuses it with depthwise).
	MaxDepth int
	// MaxLeaves is the maximum number of leaves per tree; 0 (default)
	// means no limit. It applies to both policies, as in XGBoost 1.7: with
	// depthwise, the nodes of a level split in node order until it is met.
	MaxLeaves int
	// GrowPolicy is Depthwise (default; "" means it too) or Lossguide.
	GrowPolicy          string
	MinChildWeight      float64 // minimum hessian sum in a child; default 1
	RegLambda           float64 // L2 regularisation on leaf weights; default 1
	Gamma               float64 // min_split_loss; default 0
	Subsample           float64 // row fraction per tree; default 1
	ColsampleBytree     float64 // feature fraction per tree; default 1
	MaxBin              int     // default 256
	EarlyStoppingRounds int     // 0 = off; needs a validation set
	BaseScore           float64 // default DefaultBaseScore
	Seed                uint64  // default 0
	Threads             int     // 0 = all cores (GOMAXPROCS)
}

// DefaultParams returns XGBoost's defaults.
func DefaultParams() Params {
	return Params{
		Objective:       hangar.ObjectiveRegSquaredError,
		NEstimators:     100,
		LearningRate:    0.3,
		MaxDepth:        6,
		GrowPolicy:      Depthwise,
		MinChildWeight:  1,
		RegLambda:       1,
		Subsample:       1,
		ColsampleBytree: 1,
		MaxBin:          256,
		BaseScore:       DefaultBaseScore,
	}
}

// EvalMetric returns the metric XGBoost uses by default for the objective:
// rmse, logloss or mlogloss.
func (p Params) EvalMetric() string {
	switch p.Objective {
	case hangar.ObjectiveBinaryLogistic:
		return "logloss"
	case hangar.ObjectiveMultiSoftmax, hangar.ObjectiveMultiSoftprob:
		return "mlogloss"
	}
	return "rmse"
}

// Validate checks every parameter and names the first bad one.
// Errors: EINVALID.
func (p Params) Validate() error {
	bad := func(name string, v any, want string) error {
		return hangar.Errorf(hangar.EINVALID, "parameter %s = %v: %s", name, v, want)
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch p.Objective {
	case hangar.ObjectiveRegSquaredError, hangar.ObjectiveBinaryLogistic, hangar.ObjectiveMultiSoftmax, hangar.ObjectiveMultiSoftprob:
	default:
		return hangar.Errorf(hangar.EINVALID, "unknown objective %q (want %s, %s, %s or %s)", p.Objective, hangar.ObjectiveRegSquaredError, hangar.ObjectiveBinaryLogistic, hangar.ObjectiveMultiSoftmax, hangar.ObjectiveMultiSoftprob)
	}
	switch p.GrowPolicy {
	case "", Depthwise, Lossguide:
	default:
		return hangar.Errorf(hangar.EINVALID, "parameter grow_policy = %q: want %s or %s", p.GrowPolicy, Depthwise, Lossguide)
	}
	switch {
	case p.NumClass < 0 || p.NumClass == 1:
		return bad("num_class", p.NumClass, "want 0 (from the labels) or at least 2")
	case p.NEstimators < 1:
		return bad("n_estimators", p.NEstimators, "want at least 1")
	case !finite(p.LearningRate) || p.LearningRate <= 0:
		return bad("learning_rate", p.LearningRate, "want > 0")
	case p.lossguide() && p.MaxDepth < 0:
		return bad("max_depth", p.MaxDepth, "want >= 0 (0 = no limit)")
	case !p.lossguide() && (p.MaxDepth < 1 || p.MaxDepth > 30):
		return bad("max_depth", p.MaxDepth, "want 1 to 30 with grow_policy depthwise (0, no limit, needs lossguide)")
	case p.MaxLeaves < 0:
		return bad("max_leaves", p.MaxLeaves, "want >= 0 (0 = no limit)")
	case !finite(p.MinChildWeight) || p.MinChildWeight < 0:
		return bad("min_child_weight", p.MinChildWeight, "want >= 0")
	case !finite(p.RegLambda) || p.RegLambda < 0:
		return bad("reg_lambda", p.RegLambda, "want >= 0")
	case !finite(p.Gamma) || p.Gamma < 0:
		return bad("gamma", p.Gamma, "want >= 0")
	case !(p.Subsample > 0 && p.Subsample <= 1):
		return bad("subsample", p.Subsample, "want in (0, 1]")
	case !(p.ColsampleBytree > 0 && p.ColsampleBytree <= 1):
		return bad("colsample_bytree", p.ColsampleBytree, "want in (0, 1]")
	case p.MaxBin < 2 || p.MaxBin > 65535:
		return bad("max_bin", p.MaxBin, "want 2 to 65535")
	case p.EarlyStoppingRounds < 0:
		return bad("early_stopping_rounds", p.EarlyStoppingRounds, "want >= 0")
	case p.Threads < 0:
		return bad("threads", p.Threads, "want >= 0")
	case !finite(p.BaseScore):
		return bad("base_score", p.BaseScore, "want a finite number")
	case p.Objective == hangar.ObjectiveBinaryLogistic && !(p.BaseScore > 0 && p.BaseScore < 1):
		return bad("base_score", p.BaseScore, "want in (0, 1) for binary:logistic")
	}
	return nil
}

func (p Params) lossguide() bool { return p.GrowPolicy == Lossguide }

func (p Params) threads() int {
	if p.Threads > 0 {
		return p.Threads
	}
	return runtime.GOMAXPROCS(0)
}

// Map returns the parameters as XGBoost spells them, for tracking.
func (p Params) Map() map[string]any {
	return map[string]any{
		"objective":             p.Objective,
		"n_estimators":          p.NEstimators,
		"learning_rate":         p.LearningRate,
		"max_depth":             p.MaxDepth,
		"max_leaves":            p.MaxLeaves,
		"grow_policy":           cmp.Or(p.GrowPolicy, Depthwise),
		"min_child_weight":      p.MinChildWeight,
		"reg_lambda":            p.RegLambda,
		"gamma":                 p.Gamma,
		"subsample":             p.Subsample,
		"colsample_bytree":      p.ColsampleBytree,
		"max_bin":               p.MaxBin,
		"early_stopping_rounds": p.EarlyStoppingRounds,
		"base_score":            p.BaseScore,
		"seed":                  p.Seed,
		"tree_method":           "hist",
	}
}
