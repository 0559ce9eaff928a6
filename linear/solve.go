package linear

import (
	"context"
	"errors"
	"math"

	"github.com/hangar-ml/hangar"
)

var errSingular = errors.New("singular system")

// ridge solves (XᵀX/n + L2·I) w = Xᵀ(y − ȳ)/n with intercept ȳ − (column
// means of X)·w by Cholesky factorisation.
func ridge(X, y []float64, nf int, l2 float64, m *Model) error {
	n := len(y)
	xm := make([]float64, nf)
	for i := range n {
		for j := range nf {
			xm[j] += X[i*nf+j]
		}
	}
	ym := 0.0
	for _, v := range y {
		ym += v
	}
	ym /= float64(n)
	for j := range xm {
		xm[j] /= float64(n)
	}
	A := make([]float64, nf*nf)
	b := make([]float64, nf)
	for i := range n {
		row := X[i*nf : (i+1)*nf]
		r := y[i] - ym
		for a := range nf {
			xa := row[a] - xm[a]
			b[a] += xa * r
			for c := 0; c <= a; c++ {
				A[a*nf+c] += xa * (row[c] - xm[c])
			}
		}
	}
	for a := range nf {
		b[a] /= float64(n)
		for c := 0; c <= a; c++ {
			A[a*nf+c] /= float64(n)
			A[c*nf+a] = A[a*nf+c]
		}
		A[a*nf+a] += l2
	}
	// Cholesky A = LLᵀ in place (lower triangle).
	for j := range nf {
		s := A[j*nf+j]
		for k := range j {
			s -= A[j*nf+k] * A[j*nf+k]
		}
		if s <= 1e-12 {
			return errSingular
		}
		A[j*nf+j] = math.Sqrt(s)
		for i := j + 1; i < nf; i++ {
			s := A[i*nf+j]
			for k := range j {
				s -= A[i*nf+k] * A[j*nf+k]
			}
			A[i*nf+j] = s / A[j*nf+j]
		}
	}
	w := make([]float64, nf)
	for i := range nf { // L z = b
		s := b[i]
		for k := range i {
			s -= A[i*nf+k] * w[k]
		}
		w[i] = s / A[i*nf+i]
	}
	for i := nf - 1; i >= 0; i-- { // Lᵀ w = z
		s := w[i]
		for k := i + 1; k < nf; k++ {
			s -= A[k*nf+i] * w[k]
		}
		w[i] = s / A[i*nf+i]
	}
	b0 := ym
	for j := range nf {
		b0 -= xm[j] * w[j]
	}
	m.Coef[0], m.Intercept[0] = w, b0
	return nil
}

// fista minimises the objective by accelerated proximal gradient descent
// with a constant step 1/L, L a bound on the smooth part's curvature (the
// largest eigenvalue of XᵀX/n, by power iteration, times the loss's
// curvature bound, plus L2), restarting the momentum whenever the
// objective rises.
func fista(ctx context.Context, X, y []float64, nf int, p Params, m *Model) error {
	n := len(y)
	K := m.NumOutputs()
	curv := 1.0
	switch p.Objective {
	case hangar.ObjectiveBinaryLogistic:
		curv = 0.25
	case hangar.ObjectiveMultiSoftmax, hangar.ObjectiveMultiSoftprob:
		curv = 0.5
	}
	L := curv*(1.0001*maxEigen(X, n, nf)+1e-12) + p.L2
	// Parameters: K × (nf+1), the intercept last.
	dim := nf + 1
	w := make([]float64, K*dim)
	if p.Objective == hangar.ObjectiveRegSquaredError {
		for _, v := range y {
			w[nf] += v
		}
		w[nf] /= float64(n)
	}
	z := append([]float64(nil), w...)
	prev := append([]float64(nil), w...)
	grad := make([]float64, K*dim)
	t := 1.0
	fPrev := math.Inf(1)
	for it := range p.MaxIter {
		if it%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		lossGrad(X, y, nf, K, p.Objective, z, grad)
		copy(prev, w)
		for k := range K {
			for j := range dim {
				i := k*dim + j
				g := grad[i]
				if j < nf {
					g += p.L2 * z[i]
				}
				v := z[i] - g/L
				if j < nf && p.L1 > 0 {
					v = softThreshold(v, p.L1/L)
				}
				w[i] = v
			}
		}
		f := objective(X, y, nf, K, p, w)
		if f > fPrev { // restart: drop the momentum
			t = 1
			copy(z, w)
		} else {
			tNext := (1 + math.Sqrt(1+4*t*t)) / 2
			beta := (t - 1) / tNext
			for i := range w {
				z[i] = w[i] + beta*(w[i]-prev[i])
			}
			t = tNext
		}
		if math.Abs(fPrev-f) <= p.Tol*max(1, math.Abs(f)) {
			break
		}
		fPrev = f
	}
	for k := range K {
		m.Coef[k] = append([]float64(nil), w[k*dim:k*dim+nf]...)
		m.Intercept[k] = w[k*dim+nf]
	}
	return nil
}

func softThreshold(v, a float64) float64 {
	switch {
	case v > a:
		return v - a
	case v < -a:
		return v + a
	}
	return 0
}

// margins computes row i's scores into s.
func margins(row []float64, nf, K int, w, s []float64) {
	dim := nf + 1
	for k := range K {
		v := w[k*dim+nf]
		for j, x := range row {
			v += w[k*dim+j] * x
		}
		s[k] = v
	}
}

// lossGrad writes the gradient of the mean loss (no penalty) at w.
func lossGrad(X, y []float64, nf, K int, obj string, w, grad []float64) {
	clear(grad)
	n := len(y)
	dim := nf + 1
	s := make([]float64, K)
	for i := range n {
		row := X[i*nf : (i+1)*nf]
		margins(row, nf, K, w, s)
		switch obj {
		case hangar.ObjectiveRegSquaredError:
			s[0] -= y[i]
		case hangar.ObjectiveBinaryLogistic:
			s[0] = 1/(1+math.Exp(-s[0])) - y[i]
		default:
			softmax(s)
			s[int(y[i])] -= 1
		}
		for k := range K {
			r := s[k]
			g := grad[k*dim : (k+1)*dim]
			for j, x := range row {
				g[j] += r * x
			}
			g[nf] += r
		}
	}
	for i := range grad {
		grad[i] /= float64(n)
	}
}

// objective returns the penalised mean loss at w.
func objective(X, y []float64, nf, K int, p Params, w []float64) float64 {
	n := len(y)
	s := make([]float64, K)
	loss := 0.0
	for i := range n {
		margins(X[i*nf:(i+1)*nf], nf, K, w, s)
		switch p.Objective {
		case hangar.ObjectiveRegSquaredError:
			d := s[0] - y[i]
			loss += 0.5 * d * d
		case hangar.ObjectiveBinaryLogistic:
			// log(1+e^m) − y·m, computed stably
			mm := s[0]
			loss += math.Max(mm, 0) + math.Log1p(math.Exp(-math.Abs(mm))) - y[i]*mm
		default:
			mx := math.Inf(-1)
			for _, v := range s {
				mx = max(mx, v)
			}
			lse := 0.0
			for _, v := range s {
				lse += math.Exp(v - mx)
			}
			loss += mx + math.Log(lse) - s[int(y[i])]
		}
	}
	loss /= float64(n)
	dim := nf + 1
	for k := range K {
		for j := range nf {
			v := w[k*dim+j]
			loss += 0.5*p.L2*v*v + p.L1*math.Abs(v)
		}
	}
	return loss
}

// maxEigen estimates the largest eigenvalue of [X 1]ᵀ[X 1]/n by power iteration.
func maxEigen(X []float64, n, nf int) float64 {
	dim := nf + 1
	v := make([]float64, dim)
	for i := range v {
		v[i] = 1 / math.Sqrt(float64(dim))
	}
	u := make([]float64, dim)
	lambda := 0.0
	for range 50 {
		clear(u)
		for i := range n {
			row := X[i*nf : (i+1)*nf]
			d := v[nf]
			for j, x := range row {
				d += x * v[j]
			}
			for j, x := range row {
				u[j] += d * x
			}
			u[nf] += d
		}
		norm := 0.0
		for j := range u {
			u[j] /= float64(n)
			norm += u[j] * u[j]
		}
		norm = math.Sqrt(norm)
		if norm == 0 {
			return 1
		}
		lambda = norm
		for j := range v {
			v[j] = u[j] / norm
		}
	}
	return lambda
}
