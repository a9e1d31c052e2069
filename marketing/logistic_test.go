package marketing

import (
	"math"
	"math/rand/v2"
	"testing"
)

// synthetic draws n examples of three standard normal features whose
// labels follow σ(b + w·x) (noisy) or the sign of b + w·x (separable), from
// a fixed seed.
func synthetic(seed uint64, n int, w []float64, b float64, separable bool) ([][]float64, []bool) {
	r := rand.New(rand.NewPCG(seed, 1))
	x, y := make([][]float64, n), make([]bool, n)
	for i := range n {
		x[i] = []float64{r.NormFloat64(), r.NormFloat64(), r.NormFloat64()}
		z := dot(w, x[i]) + b
		if separable {
			y[i] = z > 0
		} else {
			y[i] = r.Float64() < sigmoid(z)
		}
	}
	return x, y
}

func TestFitLogit(t *testing.T) {
	t.Parallel()
	truth := []float64{2, -1, 0}
	tests := []struct {
		name      string
		separable bool
		l2        float64
		// minAcc and minAUC bound the held-out figures; tol bounds each
		// weight's distance from the truth (0: only the signs are checked).
		minAcc, minAUC, tol float64
	}{
		{"noisy", false, 0.1, 0.75, 0.85, 0.25},
		{"noisy, strongly regularised", false, 100, 0.75, 0.85, 0},
		{"separable", true, 1, 0.97, 0.99, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x, y := synthetic(7, 2000, truth, 0.5, tc.separable)
			tx, ty := synthetic(8, 1000, truth, 0.5, tc.separable)
			m := fitLogit(x, y, tc.l2)
			for _, v := range append([]float64{m.b}, m.w...) {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("weights %v, intercept %v", m.w, m.b)
				}
			}
			if m.w[0] <= 0 || m.w[1] >= 0 || math.Abs(m.w[2]) > math.Abs(m.w[1])/4 {
				t.Errorf("weights %v: want +, −, ≈0", m.w)
			}
			if tc.tol > 0 {
				for j, w := range truth {
					if math.Abs(m.w[j]-w) > tc.tol {
						t.Errorf("weight %d = %.3f, want %.1f ± %.2f", j, m.w[j], w, tc.tol)
					}
				}
			}
			z := make([]float64, len(tx))
			for i := range tx {
				z[i] = m.score(tx[i])
			}
			acc, auc, loss := evaluate(z, ty)
			t.Logf("weights %.3f, intercept %.3f; held out: accuracy %.3f, AUC %.3f, log loss %.3f", m.w, m.b, acc, auc, loss)
			if acc < tc.minAcc || auc < tc.minAUC || loss <= 0 || loss > math.Ln2 {
				t.Errorf("held out: accuracy %.3f (want ≥ %.2f), AUC %.3f (want ≥ %.2f), log loss %.3f", acc, tc.minAcc, auc, tc.minAUC, loss)
			}
			// Deterministic: the same data give the same model.
			if again := fitLogit(x, y, tc.l2); again.b != m.b || dot(again.w, again.w) != dot(m.w, m.w) {
				t.Errorf("a second fit differs: %v %v", again, m)
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		z             []float64
		y             []bool
		acc, auc, los float64
	}{
		{"perfect ranking", []float64{-2, -1, 1, 2}, []bool{false, false, true, true}, 1, 1, -1},
		{"reversed", []float64{2, 1, -1, -2}, []bool{false, false, true, true}, 0, 0, -1},
		{"all tied", []float64{0, 0, 0, 0}, []bool{false, true, false, true}, 0.5, 0.5, math.Ln2},
		{"one class", []float64{1, 2}, []bool{true, true}, 1, 0, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			acc, auc, loss := evaluate(tc.z, tc.y)
			if acc != tc.acc || math.Abs(auc-tc.auc) > 1e-12 || (tc.los >= 0 && math.Abs(loss-tc.los) > 1e-12) {
				t.Errorf("evaluate = %v, %v, %v; want %v, %v, %v", acc, auc, loss, tc.acc, tc.auc, tc.los)
			}
		})
	}
}

func TestLogLossStable(t *testing.T) {
	t.Parallel()
	for _, z := range []float64{-800, -40, 0, 40, 800} {
		for _, y := range []bool{false, true} {
			l := logLoss(z, y)
			if math.IsNaN(l) || math.IsInf(l, 0) || l < 0 {
				t.Errorf("logLoss(%v, %v) = %v", z, y, l)
			}
		}
	}
}
