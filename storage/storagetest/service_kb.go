package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// testServiceKnowledge checks the knowledge base: the category tree (no
// cycles, no deleting a category that holds anything), articles rendered
// from Markdown and sanitised, slugs made free or refused as conflicts,
// versions on every change of title or body and restoring one,
// publishing and its events, the desk's search (prefixes, drafts only
// when asked, the read scope) and the help center's (public articles
// only), suggestions for a case ranked by the words they share with it,
// the store's any-word search ranking, helpfulness votes exact under
// concurrency with one vote per voter, erasure of a contact's votes, and
// validation naming each field.
func testServiceKnowledge(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	kb, cats := app.Service.Articles, app.Service.ArticleCategories
	const nobody = "01a23bd8-07ed-73a7-9720-4bbd606299ac"

	// Categories: a tree, slugs unique, no cycles.
	start, err := cats.Create(ctx, service.NewArticleCategory{Name: "Getting started"})
	must(t, "category", err)
	accounts, err := cats.Create(ctx, service.NewArticleCategory{Name: "Accounts", ParentID: start.ID, Position: 2})
	must(t, "child category", err)
	billing, err := cats.Create(ctx, service.NewArticleCategory{Name: "Billing", ParentID: start.ID, Position: 1})
	must(t, "child category", err)
	passwords, err := cats.Create(ctx, service.NewArticleCategory{Name: "Mots de passe oubliés", ParentID: accounts.ID})
	must(t, "grandchild category", err)
	if start.Slug != "getting-started" || passwords.Slug != "mots-de-passe-oublies" {
		t.Errorf("category slugs = %q, %q", start.Slug, passwords.Slug)
	}
	children, err := cats.Children(ctx, start.ID)
	must(t, "children", err)
	if len(children) != 2 || children[0].ID != billing.ID || children[1].ID != accounts.ID {
		t.Errorf("children of %q = %v, want Billing then Accounts", start.Name, children)
	}
	_, err = cats.Create(ctx, service.NewArticleCategory{Name: "Getting Started!"})
	wantConflictOn(t, "a taken category slug", err, "slug")
	_, err = cats.Create(ctx, service.NewArticleCategory{Slug: "Not a slug", ParentID: nobody})
	wantFields(t, "a bad category", err, "name", "slug", "parent_id")
	_, err = cats.Update(ctx, start.ID, service.UpdateArticleCategory{ParentID: &passwords.ID})
	wantFields(t, "a category under its grandchild", err, "parent_id")
	_, err = cats.Update(ctx, start.ID, service.UpdateArticleCategory{ParentID: &start.ID})
	wantFields(t, "a category under itself", err, "parent_id")
	wantErr(t, "deleting a category with children", cats.Delete(ctx, start.ID), storage.ErrConflict)
	moved, err := cats.Update(ctx, billing.ID, service.UpdateArticleCategory{ParentID: ptr("")})
	must(t, "move a category to the top", err)
	if moved.ParentID != "" {
		t.Errorf("moved category = %+v", moved)
	}

	// An article, written by a rep: Markdown rendered and sanitised.
	repA, repB, mgr := e.as(e.repA), e.as(e.repB), e.as(e.mgr)
	body := "# Reset it\n\nOpen **Settings** and ~~call us~~ see https://help.example/reset.\n\n" +
		"| Step | Action |\n|---|---|\n| 1 | Click *Forgot password* |\n\n" +
		"<script>alert('x')</script>\n\n<img src=\"x.png\" onerror=\"alert(1)\">\n\n[Win a prize](javascript:alert(1)) <mark>Ctrl</mark>"
	reset, err := kb.Create(storage.WithWriteTime(repA, time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)), service.NewArticle{
		Title: " Reset your password ", Body: body, CategoryID: passwords.ID, Tags: []string{"Login", "login", "passwords"}})
	must(t, "article", err)
	if reset.Slug != "reset-your-password" || reset.Title != "Reset your password" || reset.Status != service.ArticleDraft ||
		reset.OwnerID != e.repA.ID || reset.Revision != 1 || !reset.PublishedAt.IsZero() || !slices.Equal(reset.Tags, []string{"login", "passwords"}) {
		t.Errorf("article = %+v", reset)
	}
	for _, want := range []string{`<h1 id="reset-it">Reset it</h1>`, "<strong>Settings</strong>", "<del>call us</del>",
		`<a href="https://help.example/reset" rel="nofollow">`, "<table>", "<td>Click <em>Forgot password</em></td>", "<mark>Ctrl</mark>"} {
		if !strings.Contains(reset.HTML, want) {
			t.Errorf("HTML lacks %s:\n%s", want, reset.HTML)
		}
	}
	for _, bad := range []string{"<script", "alert", "onerror", "javascript:"} {
		if strings.Contains(reset.HTML, bad) {
			t.Errorf("HTML keeps %q:\n%s", bad, reset.HTML)
		}
	}
	if !strings.HasPrefix(reset.Excerpt, "Reset it Open Settings and call us see https://help.example/reset.") {
		t.Errorf("excerpt = %q", reset.Excerpt)
	}
	stored, err := kb.Get(repA, reset.ID)
	must(t, "get the article", err)
	if stored.HTML != reset.HTML || stored.Excerpt != reset.Excerpt {
		t.Errorf("stored article differs: %+v", stored)
	}
	wantErr(t, "deleting a category with articles", cats.Delete(ctx, passwords.ID), storage.ErrConflict)

	// Slugs: a title's slug taken gets a number; a slug given and taken
	// is a conflict on the field.
	again, err := kb.Create(ctx, service.NewArticle{Title: "Reset your password!", Body: "Another way."})
	must(t, "an article of the same title", err)
	if again.Slug != "reset-your-password-2" {
		t.Errorf("second slug = %q, want reset-your-password-2", again.Slug)
	}
	_, err = kb.Create(ctx, service.NewArticle{Title: "Other", Slug: "reset-your-password"})
	wantConflictOn(t, "a taken article slug", err, "slug")
	_, err = kb.Update(ctx, again.ID, service.UpdateArticle{Slug: ptr("reset-your-password")})
	wantConflictOn(t, "an update to a taken slug", err, "slug")
	_, err = kb.Create(ctx, service.NewArticle{Slug: "Nope!", Status: "secret", CategoryID: nobody, OwnerID: nobody,
		Body: strings.Repeat("x", service.MaxArticleLen+1), Note: strings.Repeat("n", 501)})
	wantFields(t, "a bad article", err, "title", "slug", "status", "category_id", "owner_id", "body", "note")
	_, err = kb.Update(ctx, reset.ID, service.UpdateArticle{Title: ptr(" "), CategoryID: ptr(nobody)})
	wantFields(t, "a bad update", err, "title", "category_id")

	// Versions: a change of title or body is the next version; restoring
	// one is another.
	v2, err := kb.Update(repA, reset.ID, service.UpdateArticle{Title: ptr("Reset a forgotten password"),
		Body: ptr("Click **Forgot password** on the sign-in page."), Note: "shorter"})
	must(t, "edit", err)
	if v2.Revision != 2 || v2.Slug != "reset-your-password" || !strings.Contains(v2.HTML, "<strong>Forgot password</strong>") ||
		v2.Excerpt != "Click Forgot password on the sign-in page." {
		t.Errorf("edited article = %+v", v2)
	}
	tagged, err := kb.Update(repA, reset.ID, service.UpdateArticle{Tags: &[]string{"login", "passwords", "security"}})
	must(t, "retag", err)
	if tagged.Revision != 2 {
		t.Errorf("a change of tags made version %d", tagged.Revision)
	}
	versions, err := kb.Versions(repA, reset.ID, storage.PageQuery{})
	must(t, "versions", err)
	if len(versions.Items) != 2 || versions.Items[0].Number != 2 || versions.Items[0].Note != "shorter" || versions.Items[0].CreatedBy != e.repA.ID ||
		versions.Items[1].Number != 1 || versions.Items[1].Body != body {
		t.Errorf("versions = %+v", versions.Items)
	}
	restored, err := kb.Restore(repA, reset.ID, 1)
	must(t, "restore", err)
	if restored.Revision != 3 || restored.Title != "Reset your password" || restored.Body != body || restored.HTML != reset.HTML {
		t.Errorf("restored article = %+v", restored)
	}
	v3, err := kb.Version(repA, reset.ID, 3)
	must(t, "version 3", err)
	if v3.Note != "restored version 1" || v3.Title != "Reset your password" {
		t.Errorf("version 3 = %+v", v3)
	}
	_, err = kb.Version(repA, reset.ID, 9)
	wantErr(t, "version 9", err, storage.ErrNotFound)
	_, err = kb.Versions(repB, reset.ID, storage.PageQuery{})
	wantErr(t, "versions of an article another rep may not read", err, storage.ErrNotFound)

	// Publishing: its own events; published_at stamped, cleared on the
	// way back to draft.
	cursor := e.feedAfter("", 1000).Cursor
	noon := time.Date(2026, 5, 5, 12, 0, 0, 0, time.UTC)
	pub, err := kb.SetStatus(storage.WithWriteTime(repA, noon), reset.ID, service.ArticleInternal)
	must(t, "publish internally", err)
	if !pub.PublishedAt.Equal(noon) {
		t.Errorf("published at %v, want %v", pub.PublishedAt, noon)
	}
	pub, err = kb.SetStatus(repA, reset.ID, service.ArticlePublic)
	must(t, "make public", err)
	if !pub.PublishedAt.Equal(noon) {
		t.Errorf("made public, published at %v, want %v still", pub.PublishedAt, noon)
	}
	_, err = kb.SetStatus(repA, reset.ID, "secret")
	wantFields(t, "an unknown status", err, "status")
	_, err = kb.SetStatus(repA, again.ID, service.ArticlePublic)
	wantErr(t, "a rep publishing an article it may not read", err, storage.ErrNotFound)
	_, err = kb.SetStatus(ctx, again.ID, service.ArticlePublic)
	must(t, "publish", err)
	unpub, err := kb.SetStatus(ctx, again.ID, service.ArticleDraft)
	must(t, "unpublish", err)
	if !unpub.PublishedAt.IsZero() {
		t.Errorf("a draft again keeps published_at %v", unpub.PublishedAt)
	}
	var types []string
	for _, ev := range e.feedAfter(cursor, 1000).Events {
		if ev.Subject.Type == service.ObjectArticle {
			types = append(types, ev.Type)
		}
	}
	if want := []string{"article.published", "article.status_changed", "article.published", "article.unpublished"}; !slices.Equal(types, want) {
		t.Errorf("publishing events = %v, want %v", types, want)
	}

	// The desk's search: prefixes of every word, internal and public
	// articles, drafts when asked, as the principal may read.
	policy, err := kb.Create(repA, service.NewArticle{Title: "Password policy", Body: "Twelve characters at least.", Status: service.ArticleInternal})
	must(t, "internal article", err)
	draft, err := kb.Create(repA, service.NewArticle{Title: "Password managers", Body: "Coming soon.", CategoryID: passwords.ID})
	must(t, "draft", err)
	titles := func(hits []service.ArticleHit, err error) []string {
		t.Helper()
		must(t, "search", err)
		var out []string
		for _, h := range hits {
			out = append(out, h.Article.Title)
		}
		slices.Sort(out)
		return out
	}
	if got, want := titles(kb.Search(repA, "passw", service.ArticleSearch{})), []string{"Password policy", "Reset your password"}; !slices.Equal(got, want) {
		t.Errorf("search = %v, want %v", got, want)
	}
	if got, want := titles(kb.Search(repA, "PASSW", service.ArticleSearch{Drafts: true})), []string{"Password managers", "Password policy", "Reset your password"}; !slices.Equal(got, want) {
		t.Errorf("search with drafts = %v, want %v", got, want)
	}
	if got, want := titles(kb.Search(repA, "passw", service.ArticleSearch{Drafts: true, CategoryID: passwords.ID})), []string{"Password managers", "Reset your password"}; !slices.Equal(got, want) {
		t.Errorf("search of a category = %v, want %v", got, want)
	}
	if got, want := titles(kb.Search(repA, "pass twelve", service.ArticleSearch{})), []string{"Password policy"}; !slices.Equal(got, want) {
		t.Errorf("search of two words = %v, want %v", got, want)
	}
	if got := titles(kb.Search(repB, "passw", service.ArticleSearch{Drafts: true})); len(got) != 0 {
		t.Errorf("another team's rep finds %v", got)
	}
	_, err = kb.Get(repB, reset.ID)
	wantErr(t, "another team's rep reads the article", err, storage.ErrNotFound)
	if got := titles(kb.Search(mgr, "passw", service.ArticleSearch{Drafts: true})); len(got) != 4 {
		t.Errorf("the manager finds %v, want the 4 password articles", got)
	}

	// The help center: public articles only, whoever asks.
	if got, want := titles(kb.PublicSearch(repB, "passw", service.ArticleSearch{Drafts: true})), []string{"Reset your password"}; !slices.Equal(got, want) {
		t.Errorf("public search = %v, want %v", got, want)
	}
	if got := titles(kb.PublicSearch(ctx, "twelve", service.ArticleSearch{})); len(got) != 0 {
		t.Errorf("public search finds the internal article: %v", got)
	}
	if got := titles(kb.PublicSearch(ctx, "coming", service.ArticleSearch{})); len(got) != 0 {
		t.Errorf("public search finds the draft: %v", got)
	}
	_, err = kb.PublicSearch(ctx, strings.Repeat("word ", 17), service.ArticleSearch{})
	wantFields(t, "a search of 17 words", err, "text")
	got, err := kb.PublicArticle(repB, "reset-your-password")
	must(t, "public article", err)
	if got.ID != reset.ID {
		t.Errorf("public article = %+v", got)
	}
	for _, slug := range []string{draft.Slug, policy.Slug, "no-such-article"} {
		_, err = kb.PublicArticle(ctx, slug)
		wantErr(t, "the help center reads "+slug, err, storage.ErrNotFound)
	}
	list, err := kb.PublicArticles(ctx, "", storage.PageQuery{})
	must(t, "public articles", err)
	if len(list.Items) != 1 || list.Items[0].ID != reset.ID {
		t.Errorf("public articles = %v", list.Items)
	}

	// Suggestions for a case: any of its words, those sharing more of
	// them first; drafts and unrelated articles left out.
	ink, err := kb.Create(ctx, service.NewArticle{Title: "Ink cartridges", Status: service.ArticlePublic,
		Body: "When the printer says a cartridge is empty, check the ink level and the cartridge contacts."})
	must(t, "ink article", err)
	printer, err := kb.Create(ctx, service.NewArticle{Title: "Printer not printing", Status: service.ArticleInternal,
		Body: "Check that the device is on the network and restart the spooler."})
	must(t, "printer article", err)
	_, err = kb.Create(ctx, service.NewArticle{Title: "Printer ink cartridge empty error", Body: "A draft about printer ink cartridges."})
	must(t, "a draft that matches", err)
	_, err = kb.Create(ctx, service.NewArticle{Title: "Refunds", Status: service.ArticlePublic, Body: "Within thirty days of purchase."})
	must(t, "refund article", err)
	kase, err := app.Service.Cases.Create(ctx, service.NewCase{Subject: "My printer shows an ink error",
		Description: "Hello, the printer says the ink cartridge is empty but I just put a new one in it. Thanks!"})
	must(t, "case", err)
	hits, err := kb.Suggest(ctx, kase.ID, 0)
	must(t, "suggest", err)
	var ids []string
	for _, h := range hits {
		ids = append(ids, h.Article.ID)
	}
	if !slices.Equal(ids, []string{ink.ID, printer.ID}) {
		t.Errorf("suggestions = %v, want the ink article then the printer article", titlesOf(hits))
	}
	if len(hits) == 2 && !(hits[0].Rank < hits[1].Rank) {
		t.Errorf("suggestion ranks %v, %v: want the first lower", hits[0].Rank, hits[1].Rank)
	}
	_, err = kb.Suggest(repB, kase.ID, 0)
	wantErr(t, "suggestions for a case the rep may not read", err, storage.ErrNotFound)
	quiet, err := app.Service.Cases.Create(ctx, service.NewCase{Subject: "Hi", Description: "Thanks, it is all ok now!"})
	must(t, "a case of stop words", err)
	if hits, err := kb.Suggest(ctx, quiet.ID, 0); err != nil || len(hits) != 0 {
		t.Errorf("suggestions for a case of common words = %v (%v)", titlesOf(hits), err)
	}

	// The store's any-word search: a record with more of the words ranks
	// first; every-word search keeps only the record with all of them.
	words := []string{"zorblax quintessa vermillion lorem", "zorblax quintessa lorem ipsum", "zorblax lorem ipsum dolor", "lorem ipsum dolor sit"}
	var byWords []string
	for i, w := range words {
		a, err := kb.Create(ctx, service.NewArticle{Title: fmt.Sprint("Note ", i), Body: w, Status: service.ArticleInternal})
		must(t, "note", err)
		byWords = append(byWords, a.ID)
	}
	refs := func(m storage.SearchMatch) []string {
		t.Helper()
		hits, err := e.store.Search(ctx, storage.SearchQuery{Text: "vermil zorbl quint", Types: []string{service.ObjectArticle}, Match: m})
		must(t, "store search", err)
		var out []string
		for _, h := range hits {
			out = append(out, h.Ref.ID)
		}
		return out
	}
	if got := refs(storage.MatchAny); !slices.Equal(got, byWords[:3]) {
		t.Errorf("any-word search = %v, want %v (most words first)", got, byWords[:3])
	}
	if got := refs(storage.MatchAll); !slices.Equal(got, byWords[:1]) {
		t.Errorf("every-word search = %v, want %v", got, byWords[:1])
	}
	_, err = e.store.Search(ctx, storage.SearchQuery{Text: "zorblax", Match: "most"})
	wantFields(t, "an unknown match", err, "match")
	// A member whose role hides the body finds the notes by their titles
	// and not by their hidden words, with any word too.
	_, err = e.acc.DefineRole(ctx, access.NewRole{Name: "kb_masked", Permissions: storage.Permissions{storage.AnyType: {storage.ActionRead: storage.ScopeAll}},
		Fields: storage.FieldRules{service.ObjectArticle: {"body": storage.FieldHidden, "html": storage.FieldHidden, "excerpt": storage.FieldHidden}}})
	must(t, "masked role", err)
	masked, err := e.acc.CreateMember(ctx, access.NewMember{Name: "Masked", Role: "kb_masked"})
	must(t, "masked member", err)
	asMasked := e.as(masked)
	for text, want := range map[string]int{"vermil zorbl quint": 0, "note vermil": 4} {
		hits, err := e.store.Search(asMasked, storage.SearchQuery{Text: text, Types: []string{service.ObjectArticle}, Match: storage.MatchAny})
		must(t, "masked search", err)
		if len(hits) != want {
			t.Errorf("a member with the body hidden finds %d articles by any of %q, want %d", len(hits), text, want)
		}
	}

	// Votes: one per voter, exact counts under concurrency, no event or
	// version of the article.
	before, err := kb.Get(ctx, reset.ID)
	must(t, "article before the votes", err)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = kb.Vote(ctx, reset.ID, service.Voter{VisitorKey: fmt.Sprint("visitor-", i)}, i%4 != 0)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		must(t, "concurrent vote", err)
	}
	for i := range 10 { // one voter, ten times at once: one vote
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = kb.Vote(ctx, reset.ID, service.Voter{VisitorKey: "visitor-same"}, i%2 == 0)
		}()
	}
	wg.Wait()
	for _, err := range errs[:10] {
		must(t, "one voter's concurrent votes", err)
	}
	voted, err := kb.Unvote(ctx, reset.ID, service.Voter{VisitorKey: "visitor-same"})
	must(t, "unvote", err)
	if voted.HelpfulVotes != 15 || voted.UnhelpfulVotes != 5 || voted.Score() != 0.75 || voted.Version != before.Version {
		t.Errorf("after 20 votes the article has %d helpful, %d not, score %v, version %d (was %d)",
			voted.HelpfulVotes, voted.UnhelpfulVotes, voted.Score(), voted.Version, before.Version)
	}
	n, err := storage.TableOf[*service.ArticleVote](e.store).Count(ctx, storage.Eq("article_id", reset.ID))
	must(t, "count votes", err)
	if n != 20 {
		t.Errorf("%d votes stored, want 20", n)
	}
	voted, err = kb.Vote(ctx, reset.ID, service.Voter{VisitorKey: "visitor-0"}, true) // changes its mind
	must(t, "change a vote", err)
	if voted.HelpfulVotes != 16 || voted.UnhelpfulVotes != 4 {
		t.Errorf("after a changed vote: %d helpful, %d not; want 16 and 4", voted.HelpfulVotes, voted.UnhelpfulVotes)
	}
	voted, err = kb.Vote(ctx, reset.ID, service.Voter{VisitorKey: "visitor-0"}, true)
	must(t, "the same vote again", err)
	if voted.HelpfulVotes != 16 || voted.UnhelpfulVotes != 4 {
		t.Errorf("after the same vote again: %d helpful, %d not", voted.HelpfulVotes, voted.UnhelpfulVotes)
	}
	voted, err = kb.Vote(repA, policy.ID, service.Voter{MemberID: e.repA.ID}, false)
	must(t, "a member's vote on an internal article", err)
	if voted.UnhelpfulVotes != 1 || voted.Score() != 0 {
		t.Errorf("internal article after a member's vote = %+v", voted)
	}
	_, err = kb.Vote(repB, policy.ID, service.Voter{MemberID: e.repB.ID}, true)
	wantErr(t, "a member's vote on an article it may not read", err, storage.ErrNotFound)
	_, err = kb.Vote(ctx, policy.ID, service.Voter{VisitorKey: "visitor-1"}, true)
	wantErr(t, "a visitor's vote on an internal article", err, storage.ErrNotFound)
	_, err = kb.Vote(ctx, draft.ID, service.Voter{VisitorKey: "visitor-1"}, true)
	wantErr(t, "a visitor's vote on a draft", err, storage.ErrNotFound)
	_, err = kb.Vote(ctx, reset.ID, service.Voter{VisitorKey: "v", MemberID: e.repA.ID}, true)
	wantFields(t, "two voters", err, "voter")
	_, err = kb.Vote(ctx, reset.ID, service.Voter{ContactID: nobody}, true)
	wantFields(t, "a voter that is no contact", err, "voter.contact_id")

	// A contact's votes are theirs: they follow a merge of contacts (where
	// both voted on an article, the later vote stays), are in their
	// access document, and are erased with them; the counts follow.
	ada := e.contact(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@kb.example"})
	bob := e.contact(ctx, contacts.NewContact{FirstName: "Bob", Email: "bob@kb.example"})
	t1, t2 := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC), time.Date(2026, 6, 2, 9, 0, 0, 0, time.UTC)
	_, err = kb.Vote(storage.WithWriteTime(ctx, t1), reset.ID, service.Voter{ContactID: bob.ID}, false)
	must(t, "Bob's vote", err)
	_, err = kb.Vote(storage.WithWriteTime(ctx, t1), ink.ID, service.Voter{ContactID: bob.ID}, true)
	must(t, "Bob's other vote", err)
	_, err = kb.Vote(storage.WithWriteTime(ctx, t2), reset.ID, service.Voter{ContactID: ada.ID}, true)
	must(t, "Ada's vote", err)
	votes := func(what string, id string, helpful, unhelpful int64) {
		t.Helper()
		a, err := kb.Get(ctx, id)
		must(t, what, err)
		if a.HelpfulVotes != helpful || a.UnhelpfulVotes != unhelpful {
			t.Errorf("%s: %q has %d helpful and %d unhelpful votes, want %d and %d", what, a.Title, a.HelpfulVotes, a.UnhelpfulVotes, helpful, unhelpful)
		}
	}
	votes("before the merge", reset.ID, 17, 5)
	_, err = app.Contacts.Merge(ctx, contacts.MergeRequest{SurvivorID: ada.ID, LoserID: bob.ID})
	must(t, "merge Bob into Ada", err)
	votes("after the merge", reset.ID, 17, 4)
	votes("after the merge", ink.ID, 1, 0)
	pd, err := app.PersonalData(ctx, ada.ID)
	must(t, "personal data", err)
	if n := relatedCount(pd.Related[service.ObjectArticleVote]); n != 2 {
		t.Errorf("access document holds %d votes, want 2", n)
	}
	er, err := app.Erase(ctx, ada.ID)
	must(t, "erase", err)
	if er.Related[service.ObjectArticleVote] != 2 {
		t.Errorf("erasure = %+v, want 2 votes", er.Related)
	}
	votes("after the erasure", reset.ID, 16, 4)
	votes("after the erasure", ink.ID, 0, 0)

	// Deleting an article takes its versions and votes along.
	wantErr(t, "another team's rep deletes the article", kb.Delete(repB, reset.ID), storage.ErrNotFound)
	wantErr(t, "a manager deletes another team's article", kb.Delete(e.as(e.mgr), again.ID), storage.ErrForbidden)
	must(t, "delete", kb.Delete(ctx, reset.ID))
	for _, c := range []struct {
		what string
		n    func() (int64, error)
	}{
		{"versions", func() (int64, error) {
			return storage.TableOf[*service.ArticleVersion](e.store).Count(ctx, storage.Eq("article_id", reset.ID))
		}},
		{"votes", func() (int64, error) {
			return storage.TableOf[*service.ArticleVote](e.store).Count(ctx, storage.Eq("article_id", reset.ID))
		}},
	} {
		if n, err := c.n(); err != nil || n != 0 {
			t.Errorf("%d %s of the deleted article left (%v)", n, c.what, err)
		}
	}
	must(t, "delete the category's other article", kb.Delete(ctx, draft.ID))
	must(t, "delete an emptied category", cats.Delete(ctx, passwords.ID))

	// The help center works on a store that requires a principal: it reads
	// public articles and takes votes from a context that names none; the
	// desk's search needs one.
	if h.OpenStrict == nil {
		return
	}
	strict := h.OpenStrict(t)
	desk := service.NewService(strict, contacts.NewService(strict, contacts.Options{}), service.Options{})
	anon := storage.WithWorkspace(t.Context(), "ws-portal")
	faq, err := desk.Articles.Create(storage.AsSystem(anon), service.NewArticle{Title: "Opening hours", Body: "Nine to five.", Status: service.ArticlePublic})
	must(t, "article on a strict store", err)
	if got := titles(desk.Articles.PublicSearch(anon, "hours", service.ArticleSearch{})); !slices.Equal(got, []string{"Opening hours"}) {
		t.Errorf("anonymous public search = %v", got)
	}
	_, err = desk.Articles.PublicArticle(anon, faq.Slug)
	must(t, "anonymous public article", err)
	voted, err = desk.Articles.Vote(anon, faq.ID, service.Voter{VisitorKey: "cookie"}, true)
	must(t, "anonymous vote", err)
	if voted.HelpfulVotes != 1 {
		t.Errorf("after an anonymous vote: %+v", voted)
	}
	_, err = desk.Articles.Search(anon, "hours", service.ArticleSearch{})
	wantErr(t, "the desk's search without a principal", err, storage.ErrForbidden)
}

// wantConflictOn fails unless err is a *storage.ConflictError naming field.
func wantConflictOn(t testing.TB, what string, err error, field string) {
	t.Helper()
	var ce *storage.ConflictError
	if !errors.As(err, &ce) || ce.Field != field {
		t.Fatalf("%s: got %v, want a *ConflictError on %s", what, err, field)
	}
}

// titlesOf returns the titles of hits, in order.
func titlesOf(hits []service.ArticleHit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.Article.Title)
	}
	return out
}
