package storagetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/mailtest"
	"github.com/crmkit/crm/reporting"
	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/service/surveyweb"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/workflow"
	"github.com/crmkit/crm/workflow/smtp"
)

// testServiceSurveys checks satisfaction surveys end to end: a request and
// its signed link, mailed through a real SMTP server; the link's handler
// over a real HTTP server (a GET shows the form and records nothing, also
// with a score chosen; a POST records; a second one is "already
// answered"; a tampered token is refused with 400, an expired link with
// 410); concurrent answers, of which one wins; the scales of the kinds;
// the scores, hand-computed, per agent, team and period, as an
// own-scope agent and a team-scope rep, and the same through the KPIs;
// the automatic CSAT of a resolved case, once per case; and the personal
// data: surveys in the contact's access document and erased with them.
func testServiceSurveys(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	mail := mailtest.Start(t, mailtest.Options{})
	const from = "Support <help@desk.example>"
	mailer, err := smtp.New(smtp.Config{Host: mail.Host, Port: mail.Port, TLS: smtp.TLSNone, From: from})
	must(t, "mailer", err)
	// The handler is mounted under /service of a real server, whose
	// address the module's links need before the handler exists.
	var links http.Handler
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { links.ServeHTTP(w, r) }))
	t.Cleanup(web.Close)
	base := web.URL + "/service"
	wf := workflow.Config{}
	if h.RowLevelSecurity {
		wf.Workspaces = []string{storage.WorkspaceFrom(e.sys)}
	}
	key := []byte("0123456789abcdef0123456789abcdef-survey")
	app, err := crm.New(e.sys, e.store, crm.Config{Workflow: wf, Service: service.Options{Mailer: mailer, From: from,
		Key: key, BaseURL: base + "/", CSATOnResolve: true}})
	must(t, "crm.New", err)
	mux := http.NewServeMux()
	mux.Handle("/service/", http.StripPrefix("/service", surveyweb.New(app.Service, surveyweb.Options{Name: "Acme"})))
	links = mux
	ctx := e.sys
	sv, cs := app.Service.Surveys, app.Service.Cases

	// Agents whose role reads their own records only.
	_, err = e.acc.DefineRole(e.sys, access.NewRole{Name: "agent", Permissions: storage.Permissions{storage.AnyType: {
		storage.ActionRead: storage.ScopeOwn, storage.ActionCreate: storage.ScopeOwn, storage.ActionUpdate: storage.ScopeOwn}}})
	must(t, "agent role", err)
	agent := func(name, team string) *access.Member {
		m, err := e.acc.CreateMember(e.sys, access.NewMember{Name: name, Role: "agent", TeamIDs: []string{team}})
		must(t, "agent "+name, err)
		return m
	}
	agentA, agentB := agent("Agent A", e.teamX.ID), agent("Agent B", e.teamY.ID)
	ada := e.contact(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@acme.example"})
	bob := e.contact(ctx, contacts.NewContact{FirstName: "Bob", Email: "bob@acme.example"})
	newCase := func(c context.Context, subject, contact, owner, team string) *service.Case {
		t.Helper()
		k, err := cs.Create(c, service.NewCase{Subject: subject, ContactID: contact, OwnerID: owner, TeamID: team})
		must(t, "case "+subject, err)
		return k
	}
	tokenOf := func(link string) string {
		t.Helper()
		tok, ok := strings.CutPrefix(link, base+"/s/")
		if !ok || tok == "" {
			t.Fatalf("link %q does not lead to %s/s/", link, base)
		}
		return tok
	}

	// Bad requests name their fields; a module without a key or a base
	// URL makes no links.
	_, _, err = sv.Request(ctx, service.NewSurvey{Kind: "stars", ContactID: "01a23bd8-07ed-73a7-9720-4bbd606299ac"})
	wantFields(t, "a bad survey", err, "kind", "contact_id")
	_, _, err = sv.Request(ctx, service.NewSurvey{Kind: service.SurveyNPS, ContactID: ada.ID})
	wantFields(t, "a campaign survey without a wave", err, "wave")
	_, _, err = sv.Request(ctx, service.NewSurvey{Kind: service.SurveyCSAT, CaseID: "01a23bd8-07ed-73a7-9720-4bbd606299ac"})
	wantFields(t, "a survey of no case", err, "case_id")
	_, _, err = sv.Request(ctx, service.NewSurvey{Kind: service.SurveyCSAT, CaseID: newCase(ctx, "Nobody's", "", "", "").ID})
	wantFields(t, "a survey of a case without a contact", err, "case_id")
	unkeyed := service.NewService(e.store, e.svc, service.Options{Key: []byte("short")})
	_, _, err = unkeyed.Surveys.Request(ctx, service.NewSurvey{Kind: service.SurveyNPS, ContactID: ada.ID, Wave: "w"})
	wantFields(t, "a survey without key or base URL", err, "key", "base_url")

	// A case's CSAT: the case's contact, owner and team; one per case.
	printer := newCase(ctx, "Printer on fire", ada.ID, agentA.ID, e.teamX.ID)
	r1, link1, err := sv.Request(e.as(agentA), service.NewSurvey{Kind: service.SurveyCSAT, CaseID: printer.ID})
	must(t, "request", err)
	if r1.ContactID != ada.ID || r1.OwnerID != agentA.ID || r1.TeamID != e.teamX.ID || r1.Answered() || !r1.SentAt.IsZero() ||
		(r1.ExpiresAt.Sub(r1.CreatedAt)-service.DefaultSurveyTTL).Abs() > time.Minute {
		t.Errorf("survey = %+v", r1)
	}
	tok1 := tokenOf(link1)
	if again, err := sv.Link(ctx, r1.ID); err != nil || again != link1 {
		t.Errorf("Link = %q, %v; want %q", again, err, link1)
	}
	_, _, err = sv.Request(ctx, service.NewSurvey{Kind: service.SurveyCSAT, CaseID: printer.ID})
	wantErr(t, "a second CSAT of the case", err, storage.ErrConflict)
	_, err = sv.Get(e.as(agentB), r1.ID)
	wantErr(t, "another agent's survey", err, storage.ErrNotFound)

	// Mailed through the SMTP server: the link, and a link per score.
	sent, err := sv.Send(e.as(agentA), r1.ID)
	must(t, "send", err)
	if sent.SentAt.IsZero() {
		t.Errorf("sent survey = %+v", sent)
	}
	msgs := mail.Messages()
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "ada@acme.example" {
		t.Fatalf("the SMTP server got %+v", msgs)
	}
	env, err := enmime.ReadEnvelope(bytes.NewReader(msgs[0].Data))
	must(t, "parse the mail", err)
	if subj := env.GetHeader("Subject"); !strings.Contains(subj, "[#2] Printer on fire") {
		t.Errorf("subject = %q", subj)
	}
	if !strings.Contains(env.Text, link1+"?score=1") || !strings.Contains(env.Text, link1+"?score=5") || strings.Contains(env.Text, "?score=6") ||
		!strings.Contains(env.HTML, `href="`+link1+`?score=4"`) || env.GetHeader("Auto-Submitted") != "auto-generated" {
		t.Errorf("the mail's bodies lack the score links:\n%s\n%s", env.Text, env.HTML)
	}
	// A survey made and not mailed goes with SendPending; a mailed one
	// does not go again, and one that cannot go (its contact has no
	// address) holds back none after it.
	mute := e.contact(ctx, contacts.NewContact{FirstName: "Mute"})
	_, _, err = sv.Request(ctx, service.NewSurvey{Kind: service.SurveyNPS, ContactID: mute.ID, Wave: "2026-q1"})
	must(t, "a survey of a contact without an address", err)
	r2, link2, err := sv.Request(ctx, service.NewSurvey{Kind: service.SurveyNPS, ContactID: bob.ID, Wave: "2026-q1"})
	must(t, "campaign survey", err)
	n, err := sv.SendPending(ctx, 0)
	if err != nil || n != 1 || len(mail.Messages()) != 2 || mail.Messages()[1].To[0] != "bob@acme.example" {
		t.Errorf("SendPending sent %d (%v); the server holds %d messages", n, err, len(mail.Messages()))
	}
	if n, err := sv.SendPending(ctx, 0); err != nil || n != 0 {
		t.Errorf("SendPending again sent %d (%v), want 0", n, err)
	}

	// The link over HTTP: GET shows the form and records nothing.
	get := func(u string) (int, string) {
		t.Helper()
		resp, err := http.Get(u)
		must(t, "GET", err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(u string, form url.Values) (int, string) {
		t.Helper()
		resp, err := http.PostForm(u, form)
		must(t, "POST", err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	unanswered := func(what, id string) {
		t.Helper()
		r, err := sv.Get(ctx, id)
		must(t, what, err)
		if r.Answered() {
			t.Errorf("%s recorded an answer: %+v", what, r)
		}
	}
	code, body := get(link1)
	if code != http.StatusOK || !strings.Contains(body, "How satisfied are you") || strings.Count(body, `type="radio"`) != 5 ||
		!strings.Contains(body, "#2 Printer on fire") || strings.Contains(body, " checked") {
		t.Errorf("GET the form = %d\n%s", code, body)
	}
	unanswered("a GET of the link", r1.ID)
	code, body = get(link1 + "?score=4")
	if code != http.StatusOK || !strings.Contains(body, `value="4" checked`) || !strings.Contains(body, "confirm") {
		t.Errorf("GET the form with a score = %d\n%s", code, body)
	}
	unanswered("a GET with a score", r1.ID)
	code, body = post(link1, url.Values{"score": {"9"}, "comment": {"Quick!"}})
	if code != http.StatusBadRequest || !strings.Contains(body, "choose a score") || !strings.Contains(body, "Quick!") {
		t.Errorf("POST of a score off the scale = %d\n%s", code, body)
	}
	unanswered("a POST off the scale", r1.ID)
	code, body = post(link1, url.Values{"score": {"4"}, "comment": {"  Quick and kind.  "}})
	if code != http.StatusOK || !strings.Contains(body, "Thank you") || !strings.Contains(body, "Acme") {
		t.Errorf("POST the answer = %d\n%s", code, body)
	}
	got, err := sv.Get(e.as(agentA), r1.ID)
	must(t, "the answered survey, as its agent", err)
	if !got.Answered() || got.Score != 4 || got.Comment != "Quick and kind." {
		t.Errorf("answered survey = %+v", got)
	}
	code, body = post(link1, url.Values{"score": {"1"}})
	if code != http.StatusConflict || !strings.Contains(body, "already answered") {
		t.Errorf("a second POST = %d\n%s", code, body)
	}
	if got, _ := sv.Get(ctx, r1.ID); got.Score != 4 {
		t.Errorf("the second answer changed the score to %d", got.Score)
	}
	code, body = get(link1)
	if code != http.StatusOK || !strings.Contains(body, "already answered") || strings.Contains(body, "<form") {
		t.Errorf("GET an answered survey = %d\n%s", code, body)
	}
	// A tampered token, or one of another key, is refused.
	b := []byte(tokenOf(link2))
	b[len(b)/2] ^= 1
	for _, bad := range []string{base + "/s/" + string(b), base + "/s/" + tok1[:len(tok1)-1], base + "/s/x.y"} {
		if code, body := get(bad); code != http.StatusBadRequest || !strings.Contains(body, "does not work") {
			t.Errorf("GET %s = %d\n%s", bad, code, body)
		}
		if code, _ := post(bad, url.Values{"score": {"9"}}); code != http.StatusBadRequest {
			t.Errorf("POST %s = %d", bad, code)
		}
	}
	unanswered("a tampered token", r2.ID)
	other := service.NewService(e.store, e.svc, service.Options{Key: []byte("another key of thirty-two bytes or more"), BaseURL: base})
	_, err = other.Surveys.Answer(ctx, tokenOf(link2), 9, "")
	wantErr(t, "a token of another key", err, storage.ErrInvalid)
	// An expired link: 410 for GET and POST, nothing recorded.
	old, oldLink, err := sv.Request(storage.WithWriteTime(ctx, time.Now().AddDate(0, 0, -40)), service.NewSurvey{Kind: service.SurveyNPS,
		ContactID: bob.ID, Wave: "2025-q4"})
	must(t, "an old survey", err)
	if code, body := get(oldLink); code != http.StatusGone || !strings.Contains(body, "expired") {
		t.Errorf("GET an expired link = %d\n%s", code, body)
	}
	if code, _ := post(oldLink, url.Values{"score": {"9"}}); code != http.StatusGone {
		t.Errorf("POST an expired link = %d", code)
	}
	_, err = sv.Answer(ctx, tokenOf(oldLink), 9, "")
	if !errors.Is(err, service.ErrSurveyExpired) || !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("answering an expired survey: %v, want ErrSurveyExpired and ErrInvalid", err)
	}
	unanswered("an expired link", old.ID)
	_, err = sv.Send(ctx, old.ID)
	wantErr(t, "mailing an expired survey", err, service.ErrSurveyExpired)

	// Concurrent answers: one wins, the others are ErrConflict.
	_, concLink, err := sv.Request(ctx, service.NewSurvey{Kind: service.SurveyNPS, ContactID: ada.ID, Wave: "concurrent"})
	must(t, "a survey answered at once", err)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = sv.Answer(ctx, tokenOf(concLink), int64(i+4), "")
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, storage.ErrConflict):
			t.Errorf("a concurrent answer: %v, want ErrConflict", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent answers won, want 1 (%v)", wins, errs)
	}
	_, err = sv.Answer(ctx, tokenOf(concLink), 9, "")
	wantErr(t, "answering again", err, storage.ErrConflict)

	// Each kind's scale, its ends included.
	for i, c := range []struct {
		kind service.SurveyKind
		bad  []int64
		good int64
	}{
		{service.SurveyCSAT, []int64{0, 6, -1}, 1}, {service.SurveyCSAT, nil, 5},
		{service.SurveyNPS, []int64{-1, 11}, 0}, {service.SurveyNPS, nil, 10},
		{service.SurveyCES, []int64{0, 8}, 1}, {service.SurveyCES, nil, 7},
	} {
		_, link, err := sv.Request(ctx, service.NewSurvey{Kind: c.kind, ContactID: bob.ID, Wave: "scale-" + name(i)})
		must(t, "scale survey", err)
		for _, s := range c.bad {
			_, err := sv.Answer(ctx, tokenOf(link), s, "")
			wantFields(t, string(c.kind)+" score off the scale", err, "score")
		}
		if i == 0 {
			_, err := sv.Answer(ctx, tokenOf(link), 3, strings.Repeat("x", service.MaxCommentLen+1))
			wantFields(t, "a comment too long", err, "comment")
		}
		r, err := sv.Answer(ctx, tokenOf(link), c.good, "")
		if err != nil || r.Score != c.good {
			t.Errorf("%s score %d: %+v, %v", c.kind, c.good, r, err)
		}
	}

	// The scores, on hand-computed answers. Cases 1–5 are agent A's (1–4
	// in team X, 5 in team Y), 6–10 agent B's (team Y), one more of agent
	// A's in February; they are answered in 2020, and the answers above
	// now, outside the periods scored.
	march := func(d, hour int) time.Time { return time.Date(2020, 3, d, hour, 0, 0, 0, time.UTC) }
	var scored []*service.Case
	for i := range 10 {
		owner, team := agentA.ID, e.teamX.ID
		switch {
		case i == 4:
			team = e.teamY.ID
		case i >= 5:
			owner, team = agentB.ID, e.teamY.ID
		}
		scored = append(scored, newCase(storage.WithWriteTime(ctx, march(1, 9)), "Scored "+name(i), ada.ID, owner, team))
	}
	feb := newCase(storage.WithWriteTime(ctx, march(1, 9).AddDate(0, -1, 0)), "February", ada.ID, agentA.ID, e.teamX.ID)
	answer := func(kind service.SurveyKind, c *service.Case, at time.Time, score int64) {
		t.Helper()
		_, link, err := sv.Request(storage.WithWriteTime(ctx, at.Add(-time.Hour)), service.NewSurvey{Kind: kind, CaseID: c.ID})
		must(t, "scored survey", err)
		if score < 0 {
			return // asked, never answered
		}
		_, err = sv.Answer(storage.WithWriteTime(ctx, at), tokenOf(link), score, "")
		must(t, "scored answer", err)
	}
	for i, s := range []int64{5, 4, 3, 5, 2, 5, 5, 4, 1, -1} {
		answer(service.SurveyCSAT, scored[i], march(2+i, 10), s)
	}
	answer(service.SurveyCSAT, feb, march(2, 10).AddDate(0, -1, 0), 1)
	for i, s := range []int64{10, 9, 9, 7, 3, 10, 9, 8, 0, 6} {
		answer(service.SurveyNPS, scored[i], march(2+i, 11), s)
	}
	for i, s := range map[int]int64{0: 7, 1: 6, 2: 5, 5: 2, 6: 3} {
		answer(service.SurveyCES, scored[i], march(2+i, 12), s)
	}
	near := func(what string, got service.SurveyScore, group string, want float64, n int64) {
		t.Helper()
		if got.Group != group || math.Abs(got.Value-want) > 1e-9 || got.Answers != n {
			t.Errorf("%s = %+v, want %v over %d answers of %q", what, got, want, n, group)
		}
	}
	scores := func(c context.Context, q service.ScoreQuery, want int) []service.SurveyScore {
		t.Helper()
		if q.From.IsZero() {
			q.From, q.To = march(1, 0), march(1, 0).AddDate(0, 1, 0)
		}
		got, err := sv.Scores(c, q)
		must(t, "scores", err)
		if len(got) != want {
			t.Fatalf("scores of %+v = %+v, want %d groups", q, got, want)
		}
		return got
	}
	// of returns the score of group among sc.
	of := func(sc []service.SurveyScore, group string) service.SurveyScore {
		t.Helper()
		for _, s := range sc {
			if s.Group == group {
				return s
			}
		}
		t.Fatalf("no score of %q among %+v", group, sc)
		return service.SurveyScore{}
	}
	near("CSAT", scores(ctx, service.ScoreQuery{Kind: service.SurveyCSAT}, 1)[0], "", 600.0/9, 9)
	byAgent := scores(ctx, service.ScoreQuery{Kind: service.SurveyCSAT, By: service.ByAgent}, 2)
	near("CSAT of agent A", of(byAgent, agentA.ID), agentA.ID, 60, 5)
	near("CSAT of agent B", of(byAgent, agentB.ID), agentB.ID, 75, 4)
	if of(byAgent, agentA.ID).Satisfied != 3 || of(byAgent, agentB.ID).Satisfied != 3 {
		t.Errorf("satisfied answers = %+v, want 3 each", byAgent)
	}
	byTeam := scores(ctx, service.ScoreQuery{Kind: service.SurveyCSAT, By: service.ByTeam}, 2)
	near("CSAT of team X", of(byTeam, e.teamX.ID), e.teamX.ID, 75, 4)
	near("CSAT of team Y", of(byTeam, e.teamY.ID), e.teamY.ID, 60, 5)
	monthly := scores(ctx, service.ScoreQuery{Kind: service.SurveyCSAT, Period: storage.BucketMonth,
		From: march(1, 0).AddDate(0, -1, 0), To: march(1, 0).AddDate(0, 1, 0)}, 2)
	if !monthly[0].Period.Equal(march(1, 0).AddDate(0, -1, 0)) || !monthly[1].Period.Equal(march(1, 0)) {
		t.Errorf("CSAT by month = %+v", monthly)
	}
	near("CSAT of February", monthly[0], "", 0, 1)
	near("CSAT of March", monthly[1], "", 600.0/9, 9)
	nps := scores(ctx, service.ScoreQuery{Kind: service.SurveyNPS}, 1)[0]
	near("NPS", nps, "", 20, 10)
	if nps.Promoters != 5 || nps.Passives != 2 || nps.Detractors != 3 {
		t.Errorf("NPS bands = %+v, want 5 promoters, 2 passives, 3 detractors", nps)
	}
	npsBy := scores(ctx, service.ScoreQuery{Kind: service.SurveyNPS, By: service.ByAgent}, 2)
	near("NPS of agent A", of(npsBy, agentA.ID), agentA.ID, 40, 5)
	near("NPS of agent B", of(npsBy, agentB.ID), agentB.ID, 0, 5)
	near("CES", scores(ctx, service.ScoreQuery{Kind: service.SurveyCES}, 1)[0], "", 4.6, 5)
	cesBy := scores(ctx, service.ScoreQuery{Kind: service.SurveyCES, By: service.ByAgent}, 2)
	near("CES of agent A", of(cesBy, agentA.ID), agentA.ID, 6, 3)
	near("CES of agent B", of(cesBy, agentB.ID), agentB.ID, 2.5, 2)
	_, err = sv.Scores(ctx, service.ScoreQuery{Kind: "stars", By: "planet", Period: "decade"})
	wantFields(t, "a bad score query", err, "kind", "by", "period")
	// Within the scope of who asks: an own-scope agent its own cases'
	// answers; a team-scope rep its team's.
	near("CSAT as agent A", scores(e.as(agentA), service.ScoreQuery{Kind: service.SurveyCSAT}, 1)[0], "", 60, 5)
	near("CSAT as a rep of team Y", scores(e.as(e.repB), service.ScoreQuery{Kind: service.SurveyCSAT}, 1)[0], "", 60, 5)
	// The KPIs give the same.
	period := reporting.Params{From: march(1, 0), To: march(1, 0).AddDate(0, 1, 0)}
	kpi := func(c context.Context, name string, want float64, n int64) {
		t.Helper()
		v, err := app.Reporting.KPI(c, name, period)
		must(t, name, err)
		if len(v) != 1 || !v[0].Valid || math.Abs(v[0].Value-want) > 1e-9 || v[0].Count != n {
			t.Errorf("KPI %s = %+v, want %v over %d answers", name, v, want, n)
		}
	}
	kpi(ctx, service.KPICSAT, 6.0/9, 9)
	kpi(ctx, service.KPINPS, 20, 10)
	kpi(ctx, service.KPICES, 4.6, 5)
	kpi(e.as(agentA), service.KPICSAT, 0.6, 5)
	if v, err := app.Reporting.KPI(ctx, service.KPINPS, reporting.Params{From: march(1, 0).AddDate(1, 0, 0), To: march(1, 0).AddDate(1, 1, 0)}); err != nil ||
		len(v) != 1 || v[0].Valid {
		t.Errorf("NPS of a month without answers = %+v, %v; want no value", v, err)
	}

	// A case entering a resolved status gets its CSAT, mailed; reopened
	// and resolved again it gets no second one.
	before := len(mail.Messages())
	solved := newCase(ctx, "Bob's modem", bob.ID, agentB.ID, e.teamY.ID)
	_, err = cs.SetStatus(ctx, solved.ID, "pending")
	must(t, "pending", err)
	_, err = cs.SetStatus(ctx, solved.ID, "solved")
	must(t, "solve", err)
	auto, err := sv.List(ctx, storage.ListQuery{Filter: storage.Eq("case_id", solved.ID)})
	must(t, "the case's surveys", err)
	if len(auto.Items) != 1 || auto.Items[0].Kind != service.SurveyCSAT || auto.Items[0].ContactID != bob.ID ||
		auto.Items[0].OwnerID != agentB.ID || auto.Items[0].TeamID != e.teamY.ID || auto.Items[0].SentAt.IsZero() {
		t.Fatalf("the solved case's surveys = %+v", auto.Items)
	}
	if got := mail.Messages(); len(got) != before+1 || got[before].To[0] != "bob@acme.example" {
		t.Errorf("the SMTP server holds %d messages, want %d, the last to Bob", len(got), before+1)
	}
	_, err = cs.SetStatus(ctx, solved.ID, "open")
	must(t, "reopen", err)
	_, err = cs.SetStatus(ctx, solved.ID, "closed")
	must(t, "resolve again", err)
	if n, err := storage.TableOf[*service.SurveyRequest](e.store).Count(ctx, storage.Eq("case_id", solved.ID)); err != nil || n != 1 ||
		len(mail.Messages()) != before+1 {
		t.Errorf("after resolving again: %d surveys (%v), %d messages; want 1 and %d", n, err, len(mail.Messages()), before+1)
	}
	lonely := newCase(ctx, "No one to ask", "", "", "")
	_, err = cs.SetStatus(ctx, lonely.ID, "solved")
	must(t, "solve a case without a contact", err)
	if n, _ := storage.TableOf[*service.SurveyRequest](e.store).Count(ctx, storage.Eq("case_id", lonely.ID)); n != 0 {
		t.Errorf("a case without a contact got %d surveys", n)
	}

	// Ada's surveys are hers: in her access document, erased with her; a
	// link to one then leads nowhere.
	surveys := storage.TableOf[*service.SurveyRequest](e.store)
	adas, err := surveys.Count(ctx, storage.Eq("contact_id", ada.ID))
	must(t, "count Ada's surveys", err)
	pd, err := app.PersonalData(ctx, ada.ID)
	must(t, "personal data", err)
	if n := relatedCount(pd.Related[service.ObjectSurvey]); n != int(adas) || adas < 20 {
		t.Errorf("access document holds %d surveys, want Ada's %d", n, adas)
	}
	er, err := app.Erase(ctx, ada.ID)
	must(t, "erase", err)
	if er.Related[service.ObjectSurvey] != int(adas) {
		t.Errorf("erasure = %+v, want %d surveys", er.Related, adas)
	}
	if n, err := surveys.Count(ctx, storage.Eq("contact_id", ada.ID)); err != nil || n != 0 {
		t.Errorf("%d of Ada's surveys left (%v)", n, err)
	}
	if code, _ := get(link1); code != http.StatusNotFound {
		t.Errorf("GET an erased survey's link = %d, want 404", code)
	}
	if n, err := surveys.Count(ctx, storage.Eq("contact_id", bob.ID)); err != nil || n == 0 {
		t.Errorf("Bob's surveys: %d (%v), want them kept", n, err)
	}
}
