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

// TrainChurn are the options of Churn.Train.
type TrainChurn struct {
	// HorizonDays is how long a customer must go without buying to count
	// as churned: the model learns from the customers as they stood
	// HorizonDays ago, labelled by whether they bought since, and predicts
	// the chance of no purchase in the next HorizonDays. Default: 90.
	HorizonDays int
	// TestShare is the share of the customers held out to measure the
	// model, from 0.05 to 0.5. Default: 0.2.
	TestShare float64
	// L2 is the regularisation of the weights. Default: 1.
	L2 float64
}

// The churn model's features, in order, each computed for a customer as
// it stood at an instant from its purchases before it.
// (A customer's tenure is left out: at the cut-off it is about the same
// for the customers of a young workspace, and from now every customer's
// is one horizon longer, so its weight would read the time passed.)
var churnFeatures = []string{"overdue", "log_orders", "log_spent", "one_time"}

// churnRow returns the churn features of p at the instant at, with
// interval the customer's (days).
func churnRow(p purchases, interval float64, at time.Time) []float64 {
	since := at.Sub(p.last).Hours() / 24
	overdue := 0.0
	if interval > 0 {
		overdue = since / interval
	}
	one := 0.0
	if p.count == 1 {
		one = 1
	}
	return []float64{overdue, math.Log1p(float64(p.count)), math.Log1p(math.Max(0, float64(p.spent)) / 100), one}
}

// Train fits the churn model of the context's workspace: a logistic
// regression (marketing.Fit) of "no purchase within the horizon" on the
// customers as they stood HorizonDays ago (the cut-off): how overdue each
// was against its interval, its orders, what it spent, and whether it had
// bought once. Customers whose ID hashes into TestShare
// are held out for the metrics. It needs marketing.MinExamples customers
// who came back and as many who did not (else ErrInvalid naming
// "examples"), and keeps the newest five models.
func (c *Churn) Train(ctx context.Context, opts TrainChurn) (*ChurnModel, error) {
	if opts.HorizonDays == 0 {
		opts.HorizonDays = 90
	}
	if opts.TestShare == 0 {
		opts.TestShare = 0.2
	}
	if opts.L2 == 0 {
		opts.L2 = 1
	}
	var v storage.ValidationError
	if opts.HorizonDays < 1 || opts.HorizonDays > 3650 {
		v.Add("horizon_days", "must be from 1 to 3650")
	}
	if opts.TestShare < 0.05 || opts.TestShare > 0.5 {
		v.Add("test_share", "must be from 0.05 to 0.5")
	}
	if opts.L2 < 0 {
		v.Add("l2", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	sys := storage.AsSystem(ctx)
	rs := c.s.RFM
	currency, err := rs.currency(sys)
	if err != nil {
		return nil, err
	}
	now := c.s.now()
	cutoff := now.AddDate(0, 0, -opts.HorizonDays)
	before, err := rs.purchasesIn(sys, currency, nil, time.Time{}, cutoff)
	if err != nil {
		return nil, err
	}
	after, err := rs.purchasesIn(sys, currency, nil, cutoff, time.Time{})
	if err != nil {
		return nil, err
	}
	returned := make(map[string]bool, len(after))
	for _, p := range after {
		returned[p.contact] = true
	}
	median := rs.cutsFrom(currency, before).IntervalDays
	var train, test marketing.Examples
	churned := 0
	for _, p := range before {
		iv, own := p.ownInterval()
		if !own {
			iv = median
		}
		row, label := churnRow(p, iv, cutoff), !returned[p.contact]
		if label {
			churned++
		}
		if marketing.HeldOut(p.contact, opts.TestShare) {
			test.X, test.Y = append(test.X, row), append(test.Y, label)
		} else {
			train.X, train.Y = append(train.X, row), append(train.Y, label)
		}
	}
	if back := len(before) - churned; churned < marketing.MinExamples || back < marketing.MinExamples {
		return nil, storage.Invalid("examples", "%d customers bought before %s: %d came back and %d did not; training needs at least %d of each",
			len(before), cutoff.Format(time.DateOnly), back, churned, marketing.MinExamples)
	}
	m := &ChurnModel{HorizonDays: opts.HorizonDays, L2: opts.L2, TrainedAt: now}
	for _, name := range churnFeatures {
		m.Features = append(m.Features, marketing.ModelFeature{Name: name})
	}
	if m.Intercept, m.Metrics, err = marketing.Fit(m.Features, opts.L2, train, test); err != nil {
		return nil, err
	}
	if err := c.s.t.models.Insert(ctx, m); err != nil {
		return nil, err
	}
	old, err := c.s.t.models.List(sys, storage.ListQuery{Sort: newestModels, PageQuery: storage.PageQuery{Limit: storage.MaxLimit}})
	if err != nil {
		return m, err
	}
	for i, o := range old.Items {
		if i >= 5 {
			if err := c.s.t.models.Delete(sys, o); err != nil {
				return m, fmt.Errorf("retention: churn model %s is stored, but removing old models failed: %w", m.ID, err)
			}
		}
	}
	return m, nil
}

var newestModels = []storage.Sort{{Field: "trained_at", Desc: true}, {Field: "id", Desc: true}}

// Model returns the workspace's newest churn model, ErrNotFound without
// one (Train).
func (c *Churn) Model(ctx context.Context) (*ChurnModel, error) {
	page, err := c.s.t.models.List(ctx, storage.ListQuery{Sort: newestModels, PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(page.Items) == 0 {
		return nil, fmt.Errorf("%w: the workspace has no churn model (Churn.Train)", storage.ErrNotFound)
	}
	return page.Items[0], nil
}

// Predict returns the newest churn model's chance that a contact buys
// nothing in the model's horizon from now, from its RFM record, with each
// feature's contribution to the log-odds. A contact that never bought, or
// a workspace without a model, is ErrNotFound.
func (c *Churn) Predict(ctx context.Context, contactID string) (*marketing.Prediction, error) {
	m, err := c.Model(ctx)
	if err != nil {
		return nil, err
	}
	r, err := c.s.RFM.Get(ctx, contactID)
	if err != nil {
		return nil, err
	}
	p := purchases{contact: r.ContactID, count: r.Orders, spent: r.Spent, first: r.FirstAt, last: r.LastAt}
	out := &marketing.Prediction{ContactID: contactID, ModelID: m.ID, Intercept: m.Intercept}
	out.Logit, out.Contributions = marketing.Explain(m.Features, m.Intercept, churnRow(p, r.IntervalDays, c.s.now()))
	out.Probability = marketing.Sigmoid(out.Logit)
	return out, nil
}
