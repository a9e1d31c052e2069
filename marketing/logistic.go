package marketing

import (
	"math"
	"slices"
)

// The predictive score's regressor: L2-regularised logistic regression
// fitted by Newton's method (iteratively reweighted least squares), in
// pure Go. It is deterministic: no randomness, the same examples in the
// same order give the same weights bit for bit. The features are few (a
// few dozen at most), so each step solves a (p+1)×(p+1) system by
// Cholesky; the examples are as many as the workspace has outcomes.

// logit is a fitted logistic regression: P(y=1 | x) = σ(b + w·x).
type logit struct {
	w []float64
	b float64
}

// fitLogit fits weights to the rows x (each of the same length) and the
// labels y, minimising the log loss plus l2/2 × |w|² (the intercept is not
// penalised). It stops when no weight moves by more than 1e-9, or after
// 100 steps. An l2 > 0 keeps the weights finite on separable data.
func fitLogit(x [][]float64, y []bool, l2 float64) logit {
	p := 0
	if len(x) > 0 {
		p = len(x[0])
	}
	// θ = (w_0 … w_{p-1}, b).
	theta := make([]float64, p+1)
	loss := func(th []float64) float64 {
		l := 0.0
		for i, row := range x {
			l += logLoss(dot(th[:p], row)+th[p], y[i])
		}
		for _, w := range th[:p] {
			l += l2 / 2 * w * w
		}
		return l
	}
	cur := loss(theta)
	for range 100 {
		grad := make([]float64, p+1)
		hess := make([][]float64, p+1)
		for j := range hess {
			hess[j] = make([]float64, p+1)
		}
		for i, row := range x {
			q := sigmoid(dot(theta[:p], row) + theta[p])
			r := q
			if y[i] {
				r = q - 1
			}
			s := q * (1 - q)
			for j := range p + 1 {
				xj := 1.0
				if j < p {
					xj = row[j]
				}
				grad[j] += r * xj
				for k := range j + 1 {
					xk := 1.0
					if k < p {
						xk = row[k]
					}
					hess[j][k] += s * xj * xk
				}
			}
		}
		for j := range p {
			grad[j] += l2 * theta[j]
			hess[j][j] += l2
		}
		// A tiny ridge keeps the system solvable when the curvature
		// vanishes (every example predicted with certainty).
		for j := range p + 1 {
			hess[j][j] += 1e-9
			for k := range j {
				hess[k][j] = hess[j][k]
			}
		}
		step, ok := solveCholesky(hess, grad)
		if !ok {
			step = slices.Clone(grad) // gradient descent, scaled by the search below
		}
		// Backtrack until the penalised loss does not grow.
		t := 1.0
		var next []float64
		var nextLoss float64
		for range 30 {
			next = make([]float64, p+1)
			for j := range theta {
				next[j] = theta[j] - t*step[j]
			}
			if nextLoss = loss(next); nextLoss <= cur {
				break
			}
			t /= 2
		}
		if nextLoss > cur {
			break
		}
		moved := 0.0
		for j := range theta {
			moved = math.Max(moved, math.Abs(next[j]-theta[j]))
		}
		theta, cur = next, nextLoss
		if moved < 1e-9 {
			break
		}
	}
	return logit{w: theta[:p], b: theta[p]}
}

// score returns b + w·x, the log-odds of x.
func (m logit) score(x []float64) float64 { return dot(m.w, x) + m.b }

// solveCholesky solves a·z = g for a symmetric positive definite a, and
// reports false when a is not positive definite.
func solveCholesky(a [][]float64, g []float64) ([]float64, bool) {
	n := len(g)
	l := make([][]float64, n)
	for i := range l {
		l[i] = make([]float64, n)
	}
	for i := range n {
		for j := range i + 1 {
			s := a[i][j]
			for k := range j {
				s -= l[i][k] * l[j][k]
			}
			if i == j {
				if s <= 0 || math.IsNaN(s) {
					return nil, false
				}
				l[i][i] = math.Sqrt(s)
			} else {
				l[i][j] = s / l[j][j]
			}
		}
	}
	z := make([]float64, n)
	for i := range n { // L·u = g
		s := g[i]
		for k := range i {
			s -= l[i][k] * z[k]
		}
		z[i] = s / l[i][i]
	}
	for i := n - 1; i >= 0; i-- { // Lᵀ·z = u
		s := z[i]
		for k := i + 1; k < n; k++ {
			s -= l[k][i] * z[k]
		}
		z[i] = s / l[i][i]
	}
	return z, true
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// sigmoid is 1 / (1 + e^-z), computed without overflow.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// logLoss is the negative log-likelihood of label y under log-odds z,
// computed stably: log(1 + e^-z) for a positive, log(1 + e^z) for a
// negative.
func logLoss(z float64, y bool) float64 {
	if y {
		z = -z
	}
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}

// evaluate returns the accuracy (at probability 0.5), the area under the
// ROC curve (ties counted half; 0 when y lacks a class) and the mean log
// loss of the log-odds z against the labels y.
func evaluate(z []float64, y []bool) (accuracy, auc, loss float64) {
	if len(z) == 0 {
		return 0, 0, 0
	}
	right := 0
	for i := range z {
		if (z[i] >= 0) == y[i] {
			right++
		}
		loss += logLoss(z[i], y[i])
	}
	accuracy, loss = float64(right)/float64(len(z)), loss/float64(len(z))
	// AUC by ranks (Mann–Whitney U), ties given their mean rank.
	idx := make([]int, len(z))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case z[a] < z[b]:
			return -1
		case z[a] > z[b]:
			return 1
		}
		return 0
	})
	pos, rankSum := 0, 0.0
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && z[idx[j]] == z[idx[i]] {
			j++
		}
		mean := float64(i+j+1) / 2 // ranks i+1 … j
		for _, k := range idx[i:j] {
			if y[k] {
				pos++
				rankSum += mean
			}
		}
		i = j
	}
	neg := len(z) - pos
	if pos == 0 || neg == 0 {
		return accuracy, 0, loss
	}
	auc = (rankSum - float64(pos)*float64(pos+1)/2) / (float64(pos) * float64(neg))
	return accuracy, auc, loss
}
