package storagetest

import (
	"testing"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/marketing"
	"github.com/crmkit/crm/storage"
)

// testMarketingMerge merges two contacts with marketing records: the
// loser's move to the survivor, a record the survivor has its counterpart
// of is removed (an unsubscribe beating a subscription), and the undo puts
// everything back.
func testMarketingMerge(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ctx := e.ctx
	app, err := crm.New(ctx, e.store, crm.Config{})
	must(t, "crm.New", err)
	mkt := app.Marketing
	surv := e.contact(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@shop.example"})
	loser := e.contact(ctx, contacts.NewContact{FirstName: "Ada", LastName: "L", Email: "ada.l@shop.example"})
	news, err := mkt.Lists.Create(ctx, marketing.NewList{Key: "news", Name: "News"})
	must(t, "list", err)
	offers, err := mkt.Lists.Create(ctx, marketing.NewList{Key: "offers", Name: "Offers"})
	must(t, "list", err)
	events, err := mkt.Lists.Create(ctx, marketing.NewList{Key: "events", Name: "Events"})
	must(t, "list", err)
	// The loser alone is on News; both on Offers, the loser unsubscribed;
	// both on Events, subscribed.
	for _, s := range []struct {
		list, contact string
	}{{news.ID, loser.ID}, {offers.ID, surv.ID}, {offers.ID, loser.ID}, {events.ID, surv.ID}, {events.ID, loser.ID}} {
		_, err := mkt.Lists.Subscribe(ctx, s.list, s.contact, marketing.SubscribeOptions{})
		must(t, "subscribe", err)
	}
	must(t, "unsubscribe", mkt.Lists.Unsubscribe(ctx, offers.ID, loser.ID, "test"))
	seg, err := mkt.Segments.Create(ctx, marketing.NewSegment{Name: "Both", Kind: marketing.SegmentStatic})
	must(t, "segment", err)
	must(t, "add", mkt.Segments.Add(ctx, seg.ID, surv.ID, loser.ID))
	_, err = mkt.Social.Mention(ctx, marketing.NewMention{Channel: "x", ExternalID: "m1", Handle: "ada", Text: "love it", ContactID: loser.ID})
	must(t, "mention", err)

	statusOf := func(listID, contactID string) marketing.SubscriptionStatus {
		t.Helper()
		s, err := mkt.Lists.Subscription(ctx, listID, contactID)
		if err != nil {
			return ""
		}
		return s.Status
	}
	count := func(contactID string) (subs, members, mentions int) {
		t.Helper()
		ss, err := mkt.Lists.Subscriptions(ctx, contactID)
		must(t, "subscriptions", err)
		ms, err := mkt.Segments.Of(ctx, contactID)
		must(t, "segments of", err)
		page, err := mkt.Social.Mentions(ctx, storage.ListQuery{Filter: storage.Eq("contact_id", contactID)})
		must(t, "mentions", err)
		return len(ss), len(ms), len(page.Items)
	}

	res, err := app.Contacts.Merge(ctx, contacts.MergeRequest{SurvivorID: surv.ID, LoserID: loser.ID, Rule: contacts.RuleNonEmpty})
	must(t, "merge", err)
	if s, m, n := count(surv.ID); s != 3 || m != 1 || n != 1 {
		t.Errorf("after the merge the survivor has %d subscriptions, %d segment memberships, %d mentions; want 3, 1, 1", s, m, n)
	}
	for _, c := range []struct {
		list string
		want marketing.SubscriptionStatus
	}{{news.ID, marketing.Subscribed}, {offers.ID, marketing.Unsubscribed}, {events.ID, marketing.Subscribed}} {
		if got := statusOf(c.list, surv.ID); got != c.want {
			t.Errorf("survivor on list %s after the merge: %q, want %q", c.list, got, c.want)
		}
	}
	if s, m, n := count(loser.ID); s+m+n != 0 {
		t.Errorf("the loser keeps %d subscriptions, %d memberships, %d mentions", s, m, n)
	}

	_, err = app.Contacts.UndoMerge(ctx, res.EventID)
	must(t, "undo", err)
	if s, m, n := count(loser.ID); s != 3 || m != 1 || n != 1 {
		t.Errorf("after the undo the loser has %d subscriptions, %d memberships, %d mentions; want 3, 1, 1", s, m, n)
	}
	if s, m, _ := count(surv.ID); s != 2 || m != 1 {
		t.Errorf("after the undo the survivor has %d subscriptions, %d memberships; want 2, 1", s, m)
	}
	for _, c := range []struct {
		list, contact string
		want          marketing.SubscriptionStatus
	}{{offers.ID, surv.ID, marketing.Subscribed}, {offers.ID, loser.ID, marketing.Unsubscribed}, {news.ID, loser.ID, marketing.Subscribed}} {
		if got := statusOf(c.list, c.contact); got != c.want {
			t.Errorf("%s on list %s after the undo: %q, want %q", c.contact, c.list, got, c.want)
		}
	}
}
