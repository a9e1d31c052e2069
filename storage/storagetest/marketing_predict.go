package storagetest

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/marketing"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// testMarketingPredict trains the predictive lead score on 100 contacts
// whose deals were won more often the more they clicked and when they are
// CTOs, and checks the held-out figures, the explanation of a prediction,
// the refusal with too few outcomes, the prediction in each score and who
// may train.
func testMarketingPredict(t *testing.T, h Harness) {
	e := newMktEnv(t, h, true, marketing.Options{})
	ctx := e.ctx
	pr := e.mkt.Predictive
	opts := marketing.TrainOptions{Expressions: []marketing.FeatureExpr{{Name: "cto", Where: `job_title == "CTO"`}}}

	_, err := pr.Train(ctx, marketing.TrainOptions{WindowDays: -1, TestShare: 0.9,
		Expressions: []marketing.FeatureExpr{{Name: "Bad name", Where: "nope =="}, {Name: "clicks", Where: `first_name == "x"`}}})
	wantFields(t, "bad options", err, "window_days", "test_share", "expressions[0].name", "expressions[0].where", "expressions[1].name")
	_, err = pr.Train(ctx, opts)
	wantFields(t, "no outcomes", err, "examples")
	wantErr(t, "model before training", errOf(pr.Model(ctx)), storage.ErrNotFound)

	hits := storage.TableOf[*marketing.Hit](e.store)
	s := e.sales()
	sys := storage.AsSystem(ctx)
	now := time.Now()
	clicks := func(c *contacts.Contact, n int) {
		t.Helper()
		var hs []*marketing.Hit
		for k := range n {
			hs = append(hs, &marketing.Hit{ContactID: c.ID, Kind: marketing.HitClick, At: now.Add(-time.Duration(k+1) * time.Hour)})
		}
		// A bot's clicks count for nothing.
		hs = append(hs, &marketing.Hit{ContactID: c.ID, Kind: marketing.HitClick, At: now, Bot: true})
		must(t, "hits", storage.InsertMany(sys, e.store, hits, hs))
	}
	shop := e.account(ctx, contacts.NewAccount{Name: "Shop", Employees: 50})
	const n = 100
	won := 0
	for i := range n {
		nclicks, cto := i%6, (i/6)%2 == 1
		in := contacts.NewContact{FirstName: "P", LastName: fmt.Sprint(i), Email: fmt.Sprintf("p%d@predict.example", i)}
		if cto {
			in.JobTitle = "CTO"
		}
		if i%4 == 0 {
			in.AccountID = shop.ID
		}
		c := e.contact(ctx, in)
		clicks(c, nclicks)
		// Won when clicks + 2 × CTO reach 4, but for five exceptions.
		win := nclicks+2*bit(cto) >= 4
		if i%20 == 7 {
			win = !win
		}
		o, err := s.Opportunities.Create(ctx, sales.NewOpportunity{Name: "Deal", ContactID: c.ID})
		must(t, "deal", err)
		if win {
			won++
			_, err = s.Opportunities.Win(ctx, o.ID)
		} else {
			_, err = s.Opportunities.Lose(ctx, o.ID, "budget")
		}
		must(t, "close", err)
	}
	// Two contacts without an outcome: one open deal, none.
	keen := e.contact(ctx, contacts.NewContact{FirstName: "Keen", Email: "keen@predict.example", JobTitle: "CTO"})
	clicks(keen, 5)
	_, err = s.Opportunities.Create(ctx, sales.NewOpportunity{Name: "Open", ContactID: keen.ID})
	must(t, "open deal", err)
	idle := e.contact(ctx, contacts.NewContact{FirstName: "Idle", Email: "idle@predict.example"})

	// A rep may read models, not train them.
	acc := access.NewService(e.store)
	m, err := acc.CreateMember(ctx, access.NewMember{Name: "Rep", Role: access.RoleRep})
	must(t, "member", err)
	rep, err := acc.As(ctx, m.ID)
	must(t, "as rep", err)
	wantErr(t, "a rep trains", errOf(pr.Train(rep, opts)), storage.ErrForbidden)

	model, err := pr.Train(ctx, opts)
	must(t, "train", err)
	mt := model.Metrics
	t.Logf("model: %d won of %d; %+v", won, n, mt)
	for _, f := range model.Features {
		t.Logf("  %-30s weight %+.3f (mean %.3f, std %.3f)", f.Name, f.Weight, f.Mean, f.Std)
	}
	if mt.Train+mt.Test != n || mt.Test == 0 || mt.TrainPositives+mt.TestPositives != won {
		t.Errorf("examples: %+v, want %d in all, %d won", mt, n, won)
	}
	// The held-out examples are those whose random IDs hash into the
	// share: about 20, rarely all of one outcome.
	if mt.Accuracy < mt.Baseline || (mt.Accuracy == mt.Baseline && mt.Accuracy < 1) || (mt.AUC <= 0.5 && mt.Baseline < 1) || mt.LogLoss <= 0 || mt.TrainAccuracy < 0.8 {
		t.Errorf("held out: accuracy %.3f (baseline %.3f), AUC %.3f, log loss %.3f, training accuracy %.3f",
			mt.Accuracy, mt.Baseline, mt.AUC, mt.LogLoss, mt.TrainAccuracy)
	}
	if wantBase := float64(mt.TestPositives) / float64(mt.Test); mt.BaseRate != wantBase {
		t.Errorf("base rate %v, want %v", mt.BaseRate, wantBase)
	}
	weight := map[string]marketing.ModelFeature{}
	for _, f := range model.Features {
		weight[f.Name] = f
	}
	if weight["clicks"].Weight <= 0 || weight["cto"].Weight <= 0 || weight["cto"].Where == "" {
		t.Errorf("weights: clicks %+v, cto %+v; want both positive", weight["clicks"], weight["cto"])
	}
	if f := weight["days_since_activity"]; f.Std != 0 || f.Weight != 0 {
		t.Errorf("a constant feature: %+v, want no spread and no weight", f)
	}
	if f := weight["has_account"]; f.Std == 0 || math.Abs(f.Mean-0.25) > 0.1 {
		t.Errorf("has_account: %+v, want a quarter with an account", f)
	}
	got, err := pr.Model(rep)
	must(t, "the rep reads the model", err)
	if got.ID != model.ID || got.Metrics != model.Metrics || len(got.Features) != len(model.Features) || got.Intercept != model.Intercept {
		t.Errorf("stored model %+v, trained %+v", got, model)
	}

	// Predictions explain themselves: the contributions add up to the
	// log-odds.
	pk, err := pr.Predict(ctx, keen.ID)
	must(t, "predict keen", err)
	pi, err := pr.Predict(ctx, idle.ID)
	must(t, "predict idle", err)
	for _, p := range []*marketing.Prediction{pk, pi} {
		sum := p.Intercept
		for _, c := range p.Contributions {
			sum += c.Points
		}
		if math.Abs(sum-p.Logit) > 1e-9 || math.Abs(1/(1+math.Exp(-p.Logit))-p.Probability) > 1e-12 || p.ModelID != model.ID {
			t.Errorf("prediction %+v: contributions add up to %v", p, sum)
		}
		if len(p.Contributions) != len(model.Features) {
			t.Errorf("prediction has %d contributions, want %d", len(p.Contributions), len(model.Features))
		}
	}
	if top := pk.Contributions[0]; top.Feature != "clicks" && top.Feature != "cto" {
		t.Errorf("keen's largest contribution is %+v", top)
	} else if top.Feature == "clicks" && top.Value != math.Log1p(5) {
		t.Errorf("keen's clicks: %v, want log(1+5) (the bot's click not counted)", top.Value)
	}
	if pk.Probability < 0.7 || pi.Probability > 0.3 {
		t.Errorf("keen %.3f, idle %.3f: want likely and unlikely", pk.Probability, pi.Probability)
	}

	// Training rescored every contact; the prediction is in the score.
	for _, c := range []struct {
		c *contacts.Contact
		p *marketing.Prediction
	}{{keen, pk}, {idle, pi}} {
		sc, err := e.mkt.Scoring.Get(ctx, c.c.ID)
		must(t, "score", err)
		if sc.ModelID != model.ID || sc.Predicted != int(math.Round(100*c.p.Probability)) {
			t.Errorf("%s's score %+v, want predicted %.1f%% by %s", c.c.FirstName, sc, 100*c.p.Probability, model.ID)
		}
	}
	// More clicks, once synced, raise the idle contact's prediction.
	clicks(idle, 5)
	e.sync()
	_, err = e.mkt.Sync(ctx)
	must(t, "sync", err)
	_, err = e.mkt.Scoring.Refresh(ctx)
	must(t, "refresh", err)
	sc, err := e.mkt.Scoring.Get(ctx, idle.ID)
	must(t, "score", err)
	if float64(sc.Predicted) <= 100*pi.Probability {
		t.Errorf("idle after five clicks: predicted %d%%, was %.1f%%", sc.Predicted, 100*pi.Probability)
	}
	// A rep may not predict for a contact it cannot read.
	wantErr(t, "a rep predicts for another's contact", errOf(pr.Predict(rep, keen.ID)), storage.ErrNotFound)

	// A member whose role hides the job title gets no contribution from
	// it: the value of the "cto" feature would tell the hidden title.
	_, err = acc.DefineRole(ctx, access.NewRole{Name: "no_titles", Permissions: storage.Permissions{storage.AnyType: {storage.ActionRead: storage.ScopeAll}},
		Fields: storage.FieldRules{contacts.ObjectContact: {"job_title": storage.FieldHidden}}})
	must(t, "role", err)
	nm, err := acc.CreateMember(ctx, access.NewMember{Name: "No titles", Role: "no_titles"})
	must(t, "member", err)
	masked, err := acc.As(ctx, nm.ID)
	must(t, "as", err)
	value := func(p *marketing.Prediction, feature string) float64 {
		for _, c := range p.Contributions {
			if c.Feature == feature {
				return c.Value
			}
		}
		return math.NaN()
	}
	pm, err := pr.Predict(masked, keen.ID)
	must(t, "predict as a member who may not see titles", err)
	if value(pk, "cto") != 1 || value(pm, "cto") != 0 {
		t.Errorf("the cto feature: %v as the system, %v as a member who may not see titles; want 1 and 0", value(pk, "cto"), value(pm, "cto"))
	}
}

// testMarketingPredictLeak checks that training counts each example's
// behaviour before its outcome: customers who click and meet the desk only
// after winning teach the model nothing about clicks or activity (both
// features stay constant, weight 0); before, the clicks after the win
// made clicks look like the best predictor.
func testMarketingPredictLeak(t *testing.T, h Harness) {
	e := newMktEnv(t, h, true, marketing.Options{})
	ctx := e.ctx
	s := e.sales()
	sys := storage.AsSystem(ctx)
	hits := storage.TableOf[*marketing.Hit](e.store)
	for i := range 40 {
		c := e.contact(ctx, contacts.NewContact{FirstName: "P", LastName: fmt.Sprint(i), Email: fmt.Sprintf("leak%d@predict.example", i)})
		o, err := s.Opportunities.Create(ctx, sales.NewOpportunity{Name: "Deal", ContactID: c.ID})
		must(t, "deal", err)
		if i%2 == 1 {
			_, err = s.Opportunities.Lose(ctx, o.ID, "budget")
			must(t, "lose", err)
			continue
		}
		won, err := s.Opportunities.Win(ctx, o.ID)
		must(t, "win", err)
		after := won.ClosedAt.Add(time.Minute)
		var hs []*marketing.Hit
		for k := range 3 {
			hs = append(hs, &marketing.Hit{ContactID: c.ID, Kind: marketing.HitClick, At: after.Add(time.Duration(k) * time.Second)})
		}
		must(t, "hits after the win", storage.InsertMany(sys, e.store, hits, hs))
		_, err = e.svc.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindMeeting, Subject: "Onboarding", OccurredAt: after, ContactIDs: []string{c.ID}})
		must(t, "activity after the win", err)
	}
	model, err := e.mkt.Predictive.Train(ctx, marketing.TrainOptions{})
	must(t, "train", err)
	for _, f := range model.Features {
		if (f.Name == "clicks" || f.Name == "days_since_activity") && (f.Std != 0 || f.Weight != 0) {
			t.Errorf("%s learnt from what came after the outcome: %+v", f.Name, f)
		}
	}
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}

// errOf returns the error of a call's results.
func errOf[T any](_ T, err error) error { return err }
