package retention

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/crmkit/crm/marketing"
	"github.com/crmkit/crm/storage"
)

// Churn explains customers' churn risk and trains the churn model.
type Churn struct{ s *Service }

// RiskAt is the churn risk, from 0 to 1, of a customer whose latest
// purchase was at last and who buys every interval: 0 until the purchase
// it is due (last + interval), then 1 − e^(−overdue/interval), where
// overdue is the time since it was due. Twice the interval without a
// purchase is a risk of 0.63, three times 0.86. It reads a customer
// against its own rhythm: a weekly buyer silent for a month is at higher
// risk than a yearly one silent for six.
func RiskAt(last time.Time, interval time.Duration, now time.Time) float64 {
	if interval <= 0 {
		return 0
	}
	overdue := now.Sub(last) - interval
	if overdue <= 0 {
		return 0
	}
	return 1 - math.Exp(-float64(overdue)/float64(interval))
}

// Risk is a customer's churn risk at a moment, with what makes it up.
type Risk struct {
	ContactID string `json:"contact_id"`
	// At is the moment the risk is of.
	At time.Time `json:"at"`
	// Risk is RiskAt of the customer's last purchase and interval, 0–1.
	Risk float64 `json:"risk"`
	// High reports whether Risk is at least Options.ChurnHigh (At is past
	// RFM.ChurnAt).
	High bool `json:"high"`
	// DaysSince is the time since the latest purchase, in days.
	DaysSince float64 `json:"days_since"`
	// IntervalDays is the customer's interval between purchases, its own
	// when OwnInterval, else the workspace's median.
	IntervalDays float64 `json:"interval_days"`
	OwnInterval  bool    `json:"own_interval"`
	// Overdue is DaysSince / IntervalDays: 1 is on time, 2 one interval
	// late.
	Overdue float64 `json:"overdue"`
	// NextAt is when the next purchase was expected.
	NextAt time.Time `json:"next_at"`
	// Explanation says it in a sentence.
	Explanation string `json:"explanation"`
}

// Risk returns the churn risk of a contact now, from its RFM record;
// ErrNotFound when it never bought.
func (c *Churn) Risk(ctx context.Context, contactID string) (*Risk, error) {
	r, err := c.s.RFM.Get(ctx, contactID)
	if err != nil {
		return nil, err
	}
	return c.riskOf(r, c.s.now()), nil
}

// riskOf is the risk of r at now.
func (c *Churn) riskOf(r *RFM, now time.Time) *Risk {
	iv := days(r.IntervalDays)
	out := &Risk{ContactID: r.ContactID, At: now, Risk: RiskAt(r.LastAt, iv, now), DaysSince: now.Sub(r.LastAt).Hours() / 24,
		IntervalDays: r.IntervalDays, OwnInterval: r.OwnInterval, NextAt: r.NextAt}
	out.High = out.Risk >= c.s.opts.ChurnHigh
	if r.IntervalDays > 0 {
		out.Overdue = out.DaysSince / r.IntervalDays
	}
	whose := "its own mean interval"
	if !r.OwnInterval {
		whose = "the workspace's median interval (one purchase so far)"
	}
	out.Explanation = fmt.Sprintf("last purchase %.0f days ago against %s of %.0f days: %.1f× the interval, risk %.0f%%",
		out.DaysSince, whose, r.IntervalDays, out.Overdue, 100*out.Risk)
	return out
}

// ChurnModel is a trained churn model of a workspace: the chance that a
// customer does not buy again within the horizon, P = σ(Intercept + Σ
// Weight × standardised feature), learned from the customers who did and
// did not come back after a past cut-off. It holds no customer's values,
// only their means.
type ChurnModel struct {
	storage.Meta
	Features    []marketing.ModelFeature `bun:"features" json:"features"`
	Intercept   float64                  `bun:"intercept,notnull" json:"intercept"`
	HorizonDays int                      `bun:"horizon_days,notnull" json:"horizon_days"`
	L2          float64                  `bun:"l2,notnull" json:"l2"`
	Metrics     marketing.ModelMetrics   `bun:"metrics" json:"metrics"`
	TrainedAt   time.Time                `bun:"trained_at,notnull" json:"trained_at"`
}

// RecordType returns "churn_model".
func (*ChurnModel) RecordType() string { return ObjectChurnModel }
