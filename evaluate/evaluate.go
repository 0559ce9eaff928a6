// Package evaluate computes model metrics with scikit-learn's definitions:
// accuracy, precision, recall, F1 (binary, and macro averages over classes),
// ROC AUC (binary, and one-vs-rest macro for multiclass) and log loss for
// classification; MAE, RMSE, MAPE and R² for regression.
package evaluate

import (
	"math"
	"slices"
	"sort"

	"github.com/hangar-ml/hangar"
)

// Metrics maps metric names (accuracy, f1, roc_auc, rmse, …) to values;
// undefined metrics (NaN, e.g. ROC AUC with one class present) are left out,
// so the map always encodes as JSON.
type Metrics map[string]float64

func (m Metrics) set(name string, v float64) {
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		m[name] = v
	}
}

func checkLen(y []float64, n int) error {
	if len(y) == 0 {
		return hangar.Errorf(hangar.EINVALID, "no rows to evaluate")
	}
	if len(y) != n {
		return hangar.Errorf(hangar.EINVALID, "%d labels but %d predictions", len(y), n)
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return hangar.Errorf(hangar.EINVALID, "label in row %d is %v; labels must be finite", i+1, v)
		}
	}
	return nil
}

// Regression returns mae, rmse, r2 and mape for targets y and predictions
// pred. MAPE (a fraction, not a percentage) skips rows whose target is 0,
// where it is undefined, and reports how many it skipped as
// mape_skipped_zero_targets; scikit-learn instead divides by a tiny epsilon
// there, which makes the metric explode. R² is 1 for a perfect fit of a
// constant target and 0 for an imperfect one, as scikit-learn's
// force_finite does. Errors: EINVALID for empty or mismatched input.
func Regression(y, pred []float64) (Metrics, error) {
	if err := checkLen(y, len(pred)); err != nil {
		return nil, err
	}
	n := float64(len(y))
	var absErr, sqErr, ape, mean float64
	apeRows, skipped := 0, 0
	for i, t := range y {
		d := pred[i] - t
		absErr += math.Abs(d)
		sqErr += d * d
		mean += t
		if t == 0 {
			skipped++
		} else {
			ape += math.Abs(d) / math.Abs(t)
			apeRows++
		}
	}
	mean /= n
	ssTot := 0.0
	for _, t := range y {
		ssTot += (t - mean) * (t - mean)
	}
	r2 := 0.0
	switch {
	case ssTot > 0:
		r2 = 1 - sqErr/ssTot
	case sqErr == 0:
		r2 = 1
	}
	m := Metrics{}
	m.set("mae", absErr/n)
	m.set("rmse", math.Sqrt(sqErr/n))
	m.set("r2", r2)
	if apeRows > 0 {
		m.set("mape", ape/float64(apeRows))
	}
	m["mape_skipped_zero_targets"] = float64(skipped)
	return m, nil
}

// Binary returns accuracy, precision, recall, f1 (of the positive class
// 1, with 0 where a ratio is 0/0, as scikit-learn's zero_division=0),
// roc_auc and log_loss for labels y (0 or 1) and predicted probabilities
// prob of class 1; a row is predicted positive when prob >= 0.5.
// Errors: EINVALID for empty or mismatched input or labels other than 0/1.
func Binary(y, prob []float64) (Metrics, error) {
	if err := checkLen(y, len(prob)); err != nil {
		return nil, err
	}
	pos := make([]bool, len(y))
	var tp, fp, fn, correct int
	ll := 0.0
	for i, t := range y {
		if t != 0 && t != 1 {
			return nil, hangar.Errorf(hangar.EINVALID, "label in row %d is %v; binary metrics need 0 or 1", i+1, t)
		}
		pos[i] = t == 1
		predPos := prob[i] >= 0.5
		switch {
		case predPos && pos[i]:
			tp++
		case predPos:
			fp++
		case pos[i]:
			fn++
		}
		if predPos == pos[i] {
			correct++
		}
		p := clip(prob[i])
		if pos[i] {
			ll -= math.Log(p)
		} else {
			ll -= math.Log(1 - p)
		}
	}
	m := Metrics{}
	prec, rec := ratio(tp, tp+fp), ratio(tp, tp+fn)
	m.set("accuracy", float64(correct)/float64(len(y)))
	m.set("precision", prec)
	m.set("recall", rec)
	m.set("f1", f1(tp, fp, fn))
	m.set("roc_auc", ROCAUC(pos, prob))
	m.set("log_loss", ll/float64(len(y)))
	return m, nil
}

// Multiclass returns accuracy, macro precision, recall and f1 (averaged over
// the classes present in labels or predictions, as scikit-learn does),
// roc_auc (one-vs-rest, macro over classes with both positives and
// negatives) and log_loss for labels y (0..K-1) and class probabilities
// prob (one row of K per example; the predicted class is the argmax).
// Errors: EINVALID for empty or mismatched input or bad labels.
func Multiclass(y []float64, prob [][]float64) (Metrics, error) {
	if err := checkLen(y, len(prob)); err != nil {
		return nil, err
	}
	K := len(prob[0])
	tp, fp, fn := make([]int, K), make([]int, K), make([]int, K)
	present := make([]bool, K)
	correct := 0
	ll := 0.0
	for i, t := range y {
		if len(prob[i]) != K {
			return nil, hangar.Errorf(hangar.EINVALID, "row %d has %d probabilities, want %d", i+1, len(prob[i]), K)
		}
		c := int(t)
		if float64(c) != t || c < 0 || c >= K {
			return nil, hangar.Errorf(hangar.EINVALID, "label in row %d is %v; want a class 0..%d", i+1, t, K-1)
		}
		pred := argmax(prob[i])
		present[c], present[pred] = true, true
		if pred == c {
			tp[c]++
			correct++
		} else {
			fp[pred]++
			fn[c]++
		}
		sum := 0.0
		for _, p := range prob[i] {
			sum += p
		}
		ll -= math.Log(clip(prob[i][c] / sum))
	}
	var prec, rec, f, auc float64
	classes, aucClasses := 0, 0
	for k := range K {
		if !present[k] {
			continue
		}
		classes++
		prec += ratio(tp[k], tp[k]+fp[k])
		rec += ratio(tp[k], tp[k]+fn[k])
		f += f1(tp[k], fp[k], fn[k])
		pos := make([]bool, len(y))
		score := make([]float64, len(y))
		for i, t := range y {
			pos[i] = int(t) == k
			score[i] = prob[i][k]
		}
		if a := ROCAUC(pos, score); !math.IsNaN(a) {
			auc += a
			aucClasses++
		}
	}
	m := Metrics{}
	m.set("accuracy", float64(correct)/float64(len(y)))
	m.set("precision_macro", prec/float64(classes))
	m.set("recall_macro", rec/float64(classes))
	m.set("f1_macro", f/float64(classes))
	if aucClasses > 0 {
		m.set("roc_auc_ovr_macro", auc/float64(aucClasses))
	}
	m.set("log_loss", ll/float64(len(y)))
	return m, nil
}

// ROCAUC returns the area under the ROC curve of scores for the positives,
// the probability that a random positive scores above a random negative
// (ties count half). It is NaN without positives or without negatives.
func ROCAUC(pos []bool, score []float64) float64 {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return score[idx[a]] < score[idx[b]] })
	// Average ranks over ties, then the Mann–Whitney U statistic.
	var rankSum float64
	np, nn := 0, 0
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && score[idx[j]] == score[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1..j
		for _, k := range idx[i:j] {
			if pos[k] {
				rankSum += avg
			}
		}
		i = j
	}
	for _, p := range pos {
		if p {
			np++
		} else {
			nn++
		}
	}
	if np == 0 || nn == 0 {
		return math.NaN()
	}
	return (rankSum - float64(np)*float64(np+1)/2) / (float64(np) * float64(nn))
}

const probEps = 1e-15

func clip(p float64) float64 { return min(max(p, probEps), 1-probEps) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func f1(tp, fp, fn int) float64 { return ratio(2*tp, 2*tp+fp+fn) }

func argmax(v []float64) int {
	return slices.Index(v, slices.Max(v))
}

// ForObjective computes the metrics that fit a model's objective from its
// row-major outputs (k values per row, as package score returns them):
// Binary for binary:logistic (out holds the probability of class 1),
// Multiclass for multi:* (k class probabilities per row), Regression
// otherwise. y holds the values, or the class indices for classifiers.
// Errors: EINVALID, as the function it calls.
func ForObjective(objective string, k int, y, out []float64) (Metrics, error) {
	switch {
	case objective == hangar.ObjectiveBinaryLogistic:
		return Binary(y, out)
	case hangar.IsMulticlass(objective):
		if k < 1 || len(out) != len(y)*k {
			return nil, hangar.Errorf(hangar.EINVALID, "%d outputs for %d rows of %d classes", len(out), len(y), k)
		}
		prob := make([][]float64, len(y))
		for i := range prob {
			prob[i] = out[i*k : (i+1)*k]
		}
		return Multiclass(y, prob)
	}
	return Regression(y, out)
}
