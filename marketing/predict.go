package marketing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
)

// The predictive lead score is a logistic regression trained on the
// workspace's own history, beside the rule-based score.
//
// Outcomes. A contact is a positive example when it is linked (as the
// primary contact or in a contact role) to an opportunity in a won stage,
// a negative one when every opportunity it is linked to that has closed is
// in a lost stage. Open opportunities give no outcome. Leads are not used:
// only a converted lead names a contact, and conversion is not a won deal.
// Contacts without an outcome are not trained on; every contact is scored.
//
// Features, in this order, computed the same way for training and for
// scoring: counts over the window of TrainOptions.WindowDays before now
// when scoring, and when training before the example's outcome was known
// (the close of its first won deal, else of its first lost one), so that
// what a customer did after winning tells the model nothing it could not
// know when predicting:
//
//	opens                  log(1 + human opens of campaign mail)
//	clicks                 log(1 + human clicks in campaign mail)
//	forms                  log(1 + web form posts)
//	days_since_activity    days since the contact's last activity (before
//	                       the outcome, in training), at most 365; 365
//	                       when it has none
//	has_account            1 when the contact has an account
//	account_employees      log(1 + the account's employees)
//	account_revenue        log(1 + the account's annual revenue in minor
//	                       units, whatever its currency)
//	lifecycle_<stage>      1 when the lifecycle is that stage, for
//	                       subscriber, lead, marketing_qualified and
//	                       sales_qualified; the later stages (opportunity,
//	                       customer, evangelist) follow from a deal, so they
//	                       would tell the outcome rather than predict it
//	<name>                 1 when the contact matches the expression of a
//	                       TrainOptions.Expressions entry
//
// Each feature is standardised with the mean and standard deviation of
// the training examples, which the model keeps; a feature constant over
// them counts for nothing. The held-out examples are the contacts whose ID
// hashes (FNV-1a) into the TestShare, the same on every run.

// ObjectModel is the record type of predictive models.
const ObjectModel = "score_model"

// MinExamples is how many contacts of each outcome, won and lost, Train
// needs at least.
const MinExamples = 10

// maxModels is how many models of a workspace Train keeps, the newest.
const maxModels = 10

// maxExpressions bounds TrainOptions.Expressions.
const maxExpressions = 20

// FeatureExpr is a feature of the model that is 1 for the contacts that
// match an expression (as a fit rule's), else 0.
type FeatureExpr struct {
	// Name names the feature: lower-case letters, digits and underscores,
	// starting with a letter, at most 64 bytes, not a built-in feature's.
	Name string `json:"name"`
	// Where is the condition on the contact's fields and its account's,
	// such as `account.industry == "retail"`.
	Where string `json:"where"`
}

// TrainOptions configure Predictive.Train. The zero value works.
type TrainOptions struct {
	// WindowDays is how many days back the behaviour features count.
	// Default: 90.
	WindowDays int
	// Expressions are extra 0/1 features. Default: none.
	Expressions []FeatureExpr
	// L2 is the strength of the ridge penalty on the weights (of the
	// standardised features). Default: 1.
	L2 float64
	// TestShare is the share of the contacts with an outcome held out to
	// measure the model, from 0.05 to 0.5. Default: 0.2.
	TestShare float64
}

// ModelFeature is one feature of a model: how it is standardised and its
// weight. A weight is the change of the log-odds of a win for one standard
// deviation more of the feature, so the weights of a model compare.
type ModelFeature struct {
	Name string `json:"name"`
	// Where is the expression of an expression feature, else "".
	Where string `json:"where,omitempty"`
	// Mean and Std standardise the feature: (value − Mean) / Std; Std 0
	// when the feature was constant over the training examples (it then
	// counts for nothing).
	Mean   float64 `json:"mean"`
	Std    float64 `json:"std"`
	Weight float64 `json:"weight"`
}

// ModelMetrics are how well a model did: on the held-out examples unless
// named otherwise.
type ModelMetrics struct {
	// Train and Test count the training and held-out examples;
	// TrainPositives and TestPositives the won ones among them.
	Train          int `json:"train"`
	Test           int `json:"test"`
	TrainPositives int `json:"train_positives"`
	TestPositives  int `json:"test_positives"`
	// BaseRate is the share of won examples among the held-out ones.
	BaseRate float64 `json:"base_rate"`
	// Baseline is the share of the more common outcome among the held-out
	// examples: the accuracy of always answering it, which the model must
	// beat to be worth more than the base rate.
	Baseline float64 `json:"baseline"`
	// Accuracy is the share of held-out examples predicted right (a win
	// when the probability is at least 0.5).
	Accuracy float64 `json:"accuracy"`
	// AUC is the area under the ROC curve: the chance that a won example
	// scores above a lost one (ties count half); 0 when the held-out
	// examples lack an outcome.
	AUC float64 `json:"auc"`
	// LogLoss is the mean negative log-likelihood of the held-out
	// outcomes (natural log; 0.693 is a coin's).
	LogLoss float64 `json:"log_loss"`
	// TrainAccuracy is the accuracy on the training examples.
	TrainAccuracy float64 `json:"train_accuracy"`
}

// Model is a predictive model of a workspace: P(win) = σ(Intercept + Σ
// Weight × standardised feature). It is not personal data: it holds no
// contact's values, only their means.
type Model struct {
	storage.Meta
	Features   []ModelFeature `bun:"features" json:"features"`
	Intercept  float64        `bun:"intercept,notnull" json:"intercept"`
	WindowDays int            `bun:"window_days,notnull" json:"window_days"`
	L2         float64        `bun:"l2,notnull" json:"l2"`
	Metrics    ModelMetrics   `bun:"metrics" json:"metrics"`
	TrainedAt  time.Time      `bun:"trained_at,notnull" json:"trained_at"`
}

// RecordType returns "score_model".
func (*Model) RecordType() string { return ObjectModel }

// Prediction is a model's estimate for one contact and its explanation.
type Prediction struct {
	ContactID string
	ModelID   string
	// Probability is the estimated chance that the contact's deal is won.
	Probability float64
	// Logit is the log-odds: Intercept plus the Points of every
	// contribution.
	Logit     float64
	Intercept float64
	// Contributions are the features' shares of Logit, the largest (in
	// absolute value) first.
	Contributions []Contribution
}

// Contribution is what one feature adds to a prediction's log-odds.
type Contribution struct {
	Feature string
	// Value is the contact's value of the feature, before standardising.
	Value float64
	// Weight is the feature's weight in the model.
	Weight float64
	// Points is Weight × the standardised Value.
	Points float64
}

// Predictive trains predictive models on the workspace's won and lost
// deals and predicts contacts' chances with the newest one. Scoring writes
// the prediction into each contact's Score (Score.Predicted) when the
// workspace has a model.
type Predictive struct{ s *Service }

// The built-in features, in order (see the comment at the top of the
// file).
var (
	behaviourFeatures = []string{"opens", "clicks", "forms", "days_since_activity"}
	fitFeatures       = []string{"has_account", "account_employees", "account_revenue"}
	lifecycleFeatures = []contacts.Lifecycle{contacts.LifecycleSubscriber, contacts.LifecycleLead,
		contacts.LifecycleMQL, contacts.LifecycleSQL}
)

// builtinFeatures returns the names of the built-in features, in order.
func builtinFeatures() []string {
	out := slices.Concat(behaviourFeatures, fitFeatures)
	for _, l := range lifecycleFeatures {
		out = append(out, "lifecycle_"+string(l))
	}
	return out
}

var featureNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Train fits a model to the contacts with an outcome, measures it on the
// held-out ones, stores it as the workspace's newest and rescores every
// contact. The caller must be allowed to change every model (admins):
// ErrForbidden otherwise. Bad options, and fewer than MinExamples contacts
// of either outcome, are ErrInvalid naming the reason.
func (pr *Predictive) Train(ctx context.Context, opts TrainOptions) (*Model, error) {
	if p := storage.PrincipalFrom(ctx); p != nil && !p.IsSystem() && p.Scope(ObjectModel, storage.ActionCreate) != storage.ScopeAll {
		return nil, fmt.Errorf("%w: training a predictive model needs the right to create every %s", storage.ErrForbidden, ObjectModel)
	}
	feats, err := pr.check(ctx, &opts)
	if err != nil {
		return nil, err
	}
	sys := storage.AsSystem(ctx)
	won, err := pr.outcomes(sys)
	if err != nil {
		return nil, err
	}
	pos := 0
	for _, o := range won {
		if o.won {
			pos++
		}
	}
	if neg := len(won) - pos; pos < MinExamples || neg < MinExamples {
		return nil, storage.Invalid("examples", "the workspace has %d contacts with a won deal and %d with only lost ones; training needs at least %d of each",
			pos, neg, MinExamples)
	}
	m := &Model{Features: feats, WindowDays: opts.WindowDays, L2: opts.L2, TrainedAt: pr.s.now()}
	ids := slices.Sorted(maps.Keys(won))
	var trainX, testX [][]float64
	var trainY, testY []bool
	for chunk := range slices.Chunk(ids, batchSize) {
		cs, err := storage.All(sys, pr.s.t.contacts, storage.In("id", chunk...))
		if err != nil {
			return nil, err
		}
		// Each example's behaviour as it stood when its outcome was
		// known: what came after a win would tell the outcome.
		asOf := make(map[string]time.Time, len(cs))
		for _, c := range cs {
			asOf[c.ID] = won[c.ID].at
		}
		rows, err := pr.raw(sys, m, cs, asOf)
		if err != nil {
			return nil, err
		}
		for i, c := range cs {
			if HeldOut(c.ID, opts.TestShare) {
				testX, testY = append(testX, rows[i]), append(testY, won[c.ID].won)
			} else {
				trainX, trainY = append(trainX, rows[i]), append(trainY, won[c.ID].won)
			}
		}
	}
	m.Intercept, m.Metrics, err = Fit(m.Features, opts.L2, Examples{trainX, trainY}, Examples{testX, testY})
	if err != nil {
		return nil, err
	}
	if err := pr.s.t.models.Insert(ctx, m); err != nil {
		return nil, err
	}
	if err := pr.prune(sys); err != nil {
		return m, fmt.Errorf("marketing: model %s is stored, but removing old models failed: %w", m.ID, err)
	}
	if _, err := pr.s.Scoring.Refresh(ctx); err != nil {
		return m, fmt.Errorf("marketing: model %s is stored, but rescoring failed: %w", m.ID, err)
	}
	return m, nil
}

// check fills in opts' defaults, validates them and returns the features
// of a model trained with them.
func (pr *Predictive) check(ctx context.Context, opts *TrainOptions) ([]ModelFeature, error) {
	if opts.WindowDays == 0 {
		opts.WindowDays = 90
	}
	if opts.L2 == 0 {
		opts.L2 = 1
	}
	if opts.TestShare == 0 {
		opts.TestShare = 0.2
	}
	var v storage.ValidationError
	if opts.WindowDays < 1 || opts.WindowDays > 3650 {
		v.Add("window_days", "must be from 1 to 3650")
	}
	if opts.L2 < 0 || opts.L2 > 1e6 || math.IsNaN(opts.L2) {
		v.Add("l2", "must be from 0 to 1e6")
	}
	if !(opts.TestShare >= 0.05 && opts.TestShare <= 0.5) {
		v.Add("test_share", "must be from 0.05 to 0.5")
	}
	if len(opts.Expressions) > maxExpressions {
		v.Add("expressions", "at most %d", maxExpressions)
	}
	var feats []ModelFeature
	names := map[string]bool{}
	for _, n := range builtinFeatures() {
		feats = append(feats, ModelFeature{Name: n})
		names[n] = true
	}
	for i, e := range opts.Expressions {
		field := fmt.Sprintf("expressions[%d]", i)
		if !featureNameRE.MatchString(e.Name) {
			v.Add(field+".name", "%q is not lower-case letters, digits and underscores starting with a letter", e.Name)
		} else if names[e.Name] {
			v.Add(field+".name", "%q is already a feature", e.Name)
		}
		names[e.Name] = true
		storage.TrimText(&v, field+".where", &e.Where, 4096)
		if e.Where == "" {
			v.Add(field+".where", "is required")
		} else if _, err := pr.s.people.Filter(ctx, contacts.ObjectContact, e.Where); err != nil {
			if !errors.Is(err, storage.ErrInvalid) {
				return nil, err
			}
			v.Add(field+".where", "%v", err)
		}
		feats = append(feats, ModelFeature{Name: e.Name, Where: e.Where})
	}
	return feats, v.Err()
}

// outcomes returns the contacts with an outcome: true for those linked to
// a won deal, false for those whose closed deals were all lost.
func (pr *Predictive) outcomes(ctx context.Context) (map[string]outcome, error) {
	kinds := map[string]map[string]sales.StageKind{} // pipeline → stage → kind
	pipes, err := storage.All(ctx, storage.TableOf[*sales.Pipeline](pr.s.store), nil)
	if err != nil {
		return nil, err
	}
	for _, p := range pipes {
		kinds[p.ID] = map[string]sales.StageKind{}
		for _, st := range p.Stages {
			kinds[p.ID][st.Key] = st.Kind
		}
	}
	firstWon, firstLost := map[string]time.Time{}, map[string]time.Time{}
	earliest := func(m map[string]time.Time, id string, t time.Time) {
		if have, ok := m[id]; !ok || t.Before(have) {
			m[id] = t
		}
	}
	opps := storage.TableOf[*sales.Opportunity](pr.s.store)
	err = storage.Each(ctx, opps, storage.ListQuery{Filter: storage.Gt("closed_at", time.Time{}), PageQuery: storage.PageQuery{Limit: storage.MaxLimit}},
		func(o *sales.Opportunity) error {
			kind := kinds[o.PipelineID][o.Stage]
			if kind != sales.StageWon && kind != sales.StageLost {
				return nil
			}
			for _, ref := range o.Links() {
				if ref.Type != contacts.ObjectContact {
					continue
				}
				if kind == sales.StageWon {
					earliest(firstWon, ref.ID, o.ClosedAt)
				} else {
					earliest(firstLost, ref.ID, o.ClosedAt)
				}
			}
			return nil
		})
	out := make(map[string]outcome, len(firstLost)+len(firstWon))
	for id, at := range firstLost {
		out[id] = outcome{at: at}
	}
	for id, at := range firstWon {
		out[id] = outcome{won: true, at: at}
	}
	return out, err
}

// outcome is a training example's label and when it was known: the
// close of its first won deal, or of its first lost one when none was
// won.
type outcome struct {
	won bool
	at  time.Time
}

// HeldOut reports whether the example id falls in the held-out share of a
// model's examples (0–1): by a hash of the ID, so the same examples are
// held out on every run.
func HeldOut(id string, share float64) bool {
	h := fnv.New64a()
	h.Write([]byte(id))
	return float64(h.Sum64()%10000) < share*10000
}

// prune deletes the workspace's models but the newest maxModels.
func (pr *Predictive) prune(ctx context.Context) error {
	page, err := pr.s.t.models.List(ctx, storage.ListQuery{Sort: newestFirst, PageQuery: storage.PageQuery{Limit: storage.MaxLimit}})
	if err != nil {
		return err
	}
	for i, m := range page.Items {
		if i >= maxModels {
			if err := pr.s.t.models.Delete(ctx, m); err != nil {
				return err
			}
		}
	}
	return nil
}

var newestFirst = []storage.Sort{{Field: "trained_at", Desc: true}, {Field: "id", Desc: true}}

// Model returns the workspace's newest model, or ErrNotFound when it has
// none.
func (pr *Predictive) Model(ctx context.Context) (*Model, error) {
	page, err := pr.s.t.models.List(ctx, storage.ListQuery{Sort: newestFirst, PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(page.Items) == 0 {
		return nil, fmt.Errorf("%w: the workspace has no predictive model (Predictive.Train)", storage.ErrNotFound)
	}
	return page.Items[0], nil
}

// Predict returns the newest model's prediction for a contact, with each
// feature's contribution. The caller must be allowed to read the contact
// (ErrNotFound); without a model it is ErrNotFound.
func (pr *Predictive) Predict(ctx context.Context, contactID string) (*Prediction, error) {
	c, err := pr.s.t.contacts.Get(ctx, contactID)
	if err != nil {
		return nil, err
	}
	m, err := pr.Model(ctx)
	if err != nil {
		return nil, err
	}
	// As the caller reads: a field its role hides, or a record it may
	// not read, counts as missing, so that the contributions tell
	// nothing it may not see.
	rows, err := pr.raw(ctx, m, []*contacts.Contact{c}, nil)
	if err != nil {
		return nil, err
	}
	out := &Prediction{ContactID: c.ID, ModelID: m.ID, Intercept: m.Intercept}
	out.Logit, out.Contributions = Explain(m.Features, m.Intercept, rows[0])
	out.Probability = sigmoid(out.Logit)
	return out, nil
}

// predict returns the model's probabilities, in percent rounded, of the
// contacts cs, by ID.
func (pr *Predictive) predict(ctx context.Context, m *Model, cs []*contacts.Contact) (map[string]int, error) {
	rows, err := pr.raw(ctx, m, cs, nil)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(cs))
	for i, c := range cs {
		out[c.ID] = int(math.Round(100 * sigmoid(m.logit(rows[i]))))
	}
	return out, nil
}

// Examples are the rows of raw feature values of a model's examples (in
// the order of its features) and their outcomes.
type Examples struct {
	X [][]float64
	Y []bool
}

// Fit fits a logistic model of features (their names set; Fit sets each
// one's Mean, Std and Weight) to the training examples, standardising each
// feature by its training mean and deviation, with L2 regularisation l2,
// and measures it on the held-out test examples. It is the regressor of
// Predictive.Train, for other modules' models too (retention's churn
// model). It is deterministic. Too few examples of an outcome to fit or
// to measure are ErrInvalid naming "examples".
func Fit(features []ModelFeature, l2 float64, train, test Examples) (intercept float64, mt ModelMetrics, err error) {
	mt.Train, mt.Test = len(train.X), len(test.X)
	mt.TrainPositives, mt.TestPositives = count(train.Y), count(test.Y)
	if mt.Test == 0 || mt.TrainPositives == 0 || mt.TrainPositives == mt.Train {
		return 0, mt, storage.Invalid("examples", "the held-out split leaves %d training examples (%d positive) and %d held out; add examples",
			mt.Train, mt.TrainPositives, mt.Test)
	}
	m := &Model{Features: features}
	m.standardise(train.X)
	zs := make([][]float64, len(train.X))
	for i, r := range train.X {
		zs[i] = m.scale(r)
	}
	fit := fitLogit(zs, train.Y, l2)
	m.Intercept = fit.b
	for j := range m.Features {
		m.Features[j].Weight = fit.w[j]
	}
	logits := func(rows [][]float64) []float64 {
		out := make([]float64, len(rows))
		for i, r := range rows {
			out[i] = m.logit(r)
		}
		return out
	}
	mt.TrainAccuracy, _, _ = evaluate(logits(train.X), train.Y)
	mt.Accuracy, mt.AUC, mt.LogLoss = evaluate(logits(test.X), test.Y)
	mt.BaseRate = float64(mt.TestPositives) / float64(mt.Test)
	mt.Baseline = math.Max(mt.BaseRate, 1-mt.BaseRate)
	return m.Intercept, mt, nil
}

// Explain returns the log-odds of the raw feature values under a fitted
// model (features and intercept, as Fit made them) and each feature's
// contribution to it (weight × standardised value), the largest in size
// first; the log-odds is the intercept plus the contributions.
func Explain(features []ModelFeature, intercept float64, raw []float64) (logit float64, contributions []Contribution) {
	m := &Model{Features: features, Intercept: intercept}
	z := m.scale(raw)
	logit = intercept
	for j, f := range features {
		pts := f.Weight * z[j]
		logit += pts
		contributions = append(contributions, Contribution{Feature: f.Name, Value: raw[j], Weight: f.Weight, Points: pts})
	}
	slices.SortStableFunc(contributions, func(a, b Contribution) int { return cmp.Compare(math.Abs(b.Points), math.Abs(a.Points)) })
	return logit, contributions
}

// Sigmoid is 1 / (1 + e^−z): the probability of log-odds z.
func Sigmoid(z float64) float64 { return sigmoid(z) }

// standardise sets the Mean and Std of m's features from the rows.
func (m *Model) standardise(rows [][]float64) {
	n := float64(len(rows))
	for j := range m.Features {
		mean := 0.0
		for _, r := range rows {
			mean += r[j]
		}
		mean /= n
		v := 0.0
		for _, r := range rows {
			v += (r[j] - mean) * (r[j] - mean)
		}
		std := math.Sqrt(v / n)
		if std < 1e-9 {
			std = 0
		}
		m.Features[j].Mean, m.Features[j].Std = mean, std
	}
}

// scale returns the standardised values of raw.
func (m *Model) scale(raw []float64) []float64 {
	z := make([]float64, len(m.Features))
	for j, f := range m.Features {
		if f.Std > 0 {
			z[j] = (raw[j] - f.Mean) / f.Std
		}
	}
	return z
}

// logit returns the log-odds of raw feature values.
func (m *Model) logit(raw []float64) float64 {
	l := m.Intercept
	for j, z := range m.scale(raw) {
		l += m.Features[j].Weight * z
	}
	return l
}

// raw returns the values of m's features for each of the contacts cs (at
// most batchSize), in m's order, reading as ctx (the system): the hits and
// posts with one aggregate each, the accounts with one list, each
// expression with one list.
func (pr *Predictive) raw(ctx context.Context, m *Model, cs []*contacts.Contact, asOf map[string]time.Time) ([][]float64, error) {
	now := pr.s.now()
	since := now.AddDate(0, 0, -m.WindowDays)
	ids := make([]string, len(cs))
	var accountIDs []string
	for i, c := range cs {
		ids[i] = c.ID
		if c.AccountID != "" {
			accountIDs = append(accountIDs, c.AccountID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	// The behaviour windows: the last WindowDays before now, or, for
	// training, before each example's outcome (asOf), each contact's own
	// window in one filter (at most windowBatch contacts a statement).
	windows := func(ids []string, field string) storage.Filter {
		if asOf == nil {
			return storage.And{storage.In("contact_id", ids...), storage.Ge(field, since)}
		}
		or := make(storage.Or, len(ids))
		for i, id := range ids {
			to := asOf[id]
			or[i] = storage.And{storage.Eq("contact_id", id), storage.Ge(field, to.AddDate(0, 0, -m.WindowDays)), storage.Cmp{Field: field, Op: storage.OpLt, Value: to}}
		}
		return or
	}
	opens, clicks, forms := map[string]int64{}, map[string]int64{}, map[string]int64{}
	for part := range slices.Chunk(ids, windowBatch) {
		hits, err := pr.s.store.Aggregate(ctx, ObjectHit, storage.AggregateQuery{
			Filter:  storage.And{storage.Eq("bot", false), windows(part, "at")},
			GroupBy: []string{"contact_id"},
			Measures: []storage.Measure{
				{Op: storage.AggCount, Where: storage.Eq("kind", string(HitOpen))},
				{Op: storage.AggCount, Where: storage.Eq("kind", string(HitClick))},
			}})
		if err != nil {
			return nil, err
		}
		for _, r := range hits {
			id, _ := r.Group[0].(string)
			opens[id], _ = r.Values[0].(int64)
			clicks[id], _ = r.Values[1].(int64)
		}
		posts, err := pr.s.store.Aggregate(ctx, ObjectFormPost, storage.AggregateQuery{
			Filter:   windows(part, "at"),
			GroupBy:  []string{"contact_id"},
			Measures: []storage.Measure{{Op: storage.AggCount}}})
		if err != nil {
			return nil, err
		}
		for _, r := range posts {
			id, _ := r.Group[0].(string)
			forms[id], _ = r.Values[0].(int64)
		}
	}
	// The last activity: the contact's own field now; for training, the
	// latest activity before the outcome.
	lastActivity := make(map[string]time.Time, len(cs))
	for _, c := range cs {
		lastActivity[c.ID] = c.LastActivityAt
	}
	if asOf != nil {
		if err := pr.activityBefore(ctx, ids, asOf, lastActivity); err != nil {
			return nil, err
		}
	}
	accounts := map[string]*contacts.Account{}
	if len(accountIDs) > 0 {
		err := storage.Each(ctx, pr.s.t.accounts, storage.ListQuery{Filter: storage.In("id", accountIDs...),
			PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}, func(a *contacts.Account) error {
			accounts[a.ID] = a
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	matches := map[string]map[string]bool{} // expression feature → contacts
	for _, f := range m.Features {
		if f.Where == "" {
			continue
		}
		in := map[string]bool{}
		matches[f.Name] = in
		w, err := pr.s.people.Filter(ctx, contacts.ObjectContact, f.Where)
		if err != nil {
			continue // a custom field it names was removed: the feature is 0
		}
		err = storage.Each(ctx, pr.s.t.contacts, storage.ListQuery{Filter: storage.And{w, storage.In("id", ids...)},
			PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}, func(c *contacts.Contact) error {
			in[c.ID] = true
			return nil
		})
		switch {
		case errors.Is(err, storage.ErrForbidden):
			clear(in) // it names a field hidden from the reader: as missing, 0
		case err != nil:
			return nil, err
		}
	}
	out := make([][]float64, len(cs))
	for i, c := range cs {
		a := accounts[c.AccountID]
		row := make([]float64, len(m.Features))
		for j, f := range m.Features {
			var x float64
			switch f.Name {
			case "opens":
				x = math.Log1p(float64(opens[c.ID]))
			case "clicks":
				x = math.Log1p(float64(clicks[c.ID]))
			case "forms":
				x = math.Log1p(float64(forms[c.ID]))
			case "days_since_activity":
				x = 365
				at := now
				if asOf != nil {
					at = asOf[c.ID]
				}
				if last := lastActivity[c.ID]; !last.IsZero() {
					x = math.Min(365, math.Max(0, at.Sub(last).Hours()/24))
				}
			case "has_account":
				x = bit(a != nil)
			case "account_employees":
				if a != nil {
					x = math.Log1p(float64(max(a.Employees, 0)))
				}
			case "account_revenue":
				if a != nil {
					x = math.Log1p(float64(max(a.AnnualRevenue.Amount, 0)))
				}
			default:
				if in, ok := matches[f.Name]; ok {
					x = bit(in[c.ID])
				} else if l, ok := strings.CutPrefix(f.Name, "lifecycle_"); ok {
					x = bit(string(c.Lifecycle) == l)
				}
			}
			row[j] = x
		}
		out[i] = row
	}
	return out, nil
}

// windowBatch is how many contacts' own windows one statement filters on
// (three comparisons each, within storage.MaxFilterTerms).
const windowBatch = 150

// activityBefore sets last[id] to the time of the latest activity of each
// contact ids before asOf[id] (zero when there is none), a batch of
// contacts a statement, newest first.
func (pr *Predictive) activityBefore(ctx context.Context, ids []string, asOf map[string]time.Time, last map[string]time.Time) error {
	for _, id := range ids {
		last[id] = time.Time{}
	}
	acts := storage.TableOf[*contacts.Activity](pr.s.store)
	for part := range slices.Chunk(ids, windowBatch) {
		var latest time.Time
		or := make(storage.Or, len(part))
		for i, id := range part {
			or[i] = storage.Cmp{Field: "contact_ids", Op: storage.OpContains, Value: id}
			if asOf[id].After(latest) {
				latest = asOf[id]
			}
		}
		err := storage.Each(ctx, acts, storage.ListQuery{Filter: storage.And{or, storage.Cmp{Field: "occurred_at", Op: storage.OpLt, Value: latest}},
			Sort: []storage.Sort{{Field: "occurred_at", Desc: true}}, PageQuery: storage.PageQuery{Limit: storage.MaxLimit}},
			func(a *contacts.Activity) error {
				for _, id := range a.ContactIDs {
					to, ok := asOf[id]
					if ok && a.OccurredAt.Before(to) && a.OccurredAt.After(last[id]) {
						last[id] = a.OccurredAt
					}
				}
				return nil
			})
		if err != nil {
			return err
		}
	}
	return nil
}

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func count(ys []bool) int {
	n := 0
	for _, y := range ys {
		if y {
			n++
		}
	}
	return n
}
