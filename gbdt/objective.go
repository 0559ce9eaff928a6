package gbdt

import (
	"math"

	"github.com/hangar-ml/hangar"
)

// gpair is a gradient and hessian, also a histogram bin's sums.
type gpair struct{ g, h float64 }

// minHess keeps hessians positive where XGBoost does.
const minHess = 1e-16

// checkLabels validates labels for the objective and returns the number of
// outputs per row (1, or the number of classes).
func checkLabels(p Params, y []float64, what string) (int, error) {
	if len(y) == 0 {
		return 0, hangar.Errorf(hangar.EINVALID, "%s set is empty", what)
	}
	maxLabel := 0.0
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, hangar.Errorf(hangar.EINVALID, "%s label in row %d is %v; labels must be finite", what, i+1, v)
		}
		switch p.Objective {
		case hangar.ObjectiveBinaryLogistic:
			if v < 0 || v > 1 {
				return 0, hangar.Errorf(hangar.EINVALID, "%s label in row %d is %v; binary:logistic needs labels in [0, 1]", what, i+1, v)
			}
		case hangar.ObjectiveMultiSoftmax, hangar.ObjectiveMultiSoftprob:
			if v < 0 || v != math.Trunc(v) || (p.NumClass > 0 && v >= float64(p.NumClass)) {
				return 0, hangar.Errorf(hangar.EINVALID, "%s label in row %d is %v; %s needs class labels 0..K-1", what, i+1, v, p.Objective)
			}
			maxLabel = max(maxLabel, v)
		}
	}
	switch p.Objective {
	case hangar.ObjectiveMultiSoftmax, hangar.ObjectiveMultiSoftprob:
		if p.NumClass > 0 {
			return p.NumClass, nil
		}
		if maxLabel < 1 {
			return 0, hangar.Errorf(hangar.EINVALID, "%s labels hold one class only; %s needs at least 2", what, p.Objective)
		}
		return int(maxLabel) + 1, nil
	}
	return 1, nil
}

// baseMargin turns base_score into margin space.
func baseMargin(p Params) float64 {
	if p.Objective == hangar.ObjectiveBinaryLogistic {
		return math.Log(p.BaseScore / (1 - p.BaseScore))
	}
	return p.BaseScore
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// softmax writes the probabilities of margins m into p.
func softmax(m, p []float64) {
	mx := math.Inf(-1)
	for _, v := range m {
		mx = max(mx, v)
	}
	s := 0.0
	for k, v := range m {
		p[k] = math.Exp(v - mx)
		s += p[k]
	}
	for k := range p {
		p[k] /= s
	}
}

// gradients fills grad[k*n+i] for output k of row i from the margins
// (margin[i*K+k]), as XGBoost's objectives do.
func gradients(obj string, K int, y, margin []float64, grad []gpair) {
	n := len(y)
	switch obj {
	case hangar.ObjectiveRegSquaredError:
		for i := range n {
			grad[i] = gpair{margin[i] - y[i], 1}
		}
	case hangar.ObjectiveBinaryLogistic:
		for i := range n {
			p := sigmoid(margin[i])
			grad[i] = gpair{p - y[i], max(p*(1-p), minHess)}
		}
	default:
		prob := make([]float64, K)
		for i := range n {
			softmax(margin[i*K:(i+1)*K], prob)
			label := int(y[i])
			for k, p := range prob {
				g := p
				if k == label {
					g -= 1
				}
				grad[k*n+i] = gpair{g, max(2*p*(1-p), minHess)}
			}
		}
	}
}

// metric evaluates the objective's default metric on margins.
func metric(obj string, K int, y, margin []float64) float64 {
	const eps = 1e-16
	n := len(y)
	s := 0.0
	switch obj {
	case hangar.ObjectiveRegSquaredError:
		for i := range n {
			d := margin[i] - y[i]
			s += d * d
		}
		return math.Sqrt(s / float64(n))
	case hangar.ObjectiveBinaryLogistic:
		for i := range n {
			p := min(max(sigmoid(margin[i]), eps), 1-eps)
			s -= y[i]*math.Log(p) + (1-y[i])*math.Log(1-p)
		}
		return s / float64(n)
	default:
		prob := make([]float64, K)
		for i := range n {
			softmax(margin[i*K:(i+1)*K], prob)
			s -= math.Log(min(max(prob[int(y[i])], eps), 1-eps))
		}
		return s / float64(n)
	}
}
