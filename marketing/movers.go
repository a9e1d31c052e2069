package marketing

import (
	"context"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/merge"
)

// Movers returns the merge movers of the marketing records about a
// contact (contacts.Options.Movers; crm.New passes them): when two
// contacts merge, the loser's subscriptions, suppressions, segment and
// campaign memberships, messages, tracking hits, form posts, score and
// mentions move to the survivor, and back on undo. Where the survivor
// already has the counterpart of a record that can exist once per contact
// (a subscription to the same list, a membership of the same segment or
// campaign, the message of the same email, the score), the survivor's is
// kept and the loser's removed (and put back on undo), except that an
// unsubscribe beats a subscription: the person asked to stop. Segments and
// scores are brought up to date by the next Service.Sync.
func Movers(store Store) []merge.Mover {
	t := tablesOf(store)
	c := contacts.ObjectContact
	byContact := func(from, _ string) storage.Filter { return storage.Eq("contact_id", from) }
	return []merge.Mover{
		merge.NewIDRepointer(store, t.subs, c, func(s *Subscription) *string { return &s.ContactID }).Find(byContact).
			Clash(func(ctx context.Context, moving *Subscription, to string) (*Subscription, bool, error) {
				kept, ok, err := counterpart(ctx, t.subs, to, storage.Eq("list_id", moving.ListID))
				if err != nil || !ok {
					return nil, false, err
				}
				if moving.Status == Unsubscribed && kept.Status != Unsubscribed {
					return kept, true, nil
				}
				return moving, true, nil
			}),
		merge.NewIDRepointer(store, t.suppressions, c, func(s *Suppression) *string { return &s.ContactID }).Find(byContact),
		merge.NewIDRepointer(store, t.members, c, func(m *SegmentMember) *string { return &m.ContactID }).Find(byContact).
			Clash(keepSurvivors(t.members, func(m *SegmentMember) storage.Filter { return storage.Eq("segment_id", m.SegmentID) })),
		merge.NewIDRepointer(store, t.cmembers, c, func(m *CampaignMember) *string { return &m.ContactID }).Find(byContact).
			Clash(keepSurvivors(t.cmembers, func(m *CampaignMember) storage.Filter { return storage.Eq("campaign_id", m.CampaignID) })),
		merge.NewIDRepointer(store, t.messages, c, func(m *Message) *string { return &m.ContactID }).Find(byContact).
			Clash(keepSurvivors(t.messages, func(m *Message) storage.Filter { return storage.Eq("email_id", m.EmailID) })),
		merge.NewIDRepointer(store, t.hits, c, func(h *Hit) *string { return &h.ContactID }).Find(byContact),
		merge.NewIDRepointer(store, t.posts, c, func(p *FormPost) *string { return &p.ContactID }).Find(byContact),
		merge.NewIDRepointer(store, t.scores, c, func(s *Score) *string { return &s.ContactID }).Find(byContact).
			Clash(keepSurvivors(t.scores, func(*Score) storage.Filter { return nil })),
		merge.NewIDRepointer(store, t.mentions, c, func(m *Mention) *string { return &m.ContactID }).Find(byContact),
	}
}

// keepSurvivors is the clash check of a record that exists once per
// contact and the key same returns: the moving one goes when the survivor
// has its counterpart.
func keepSurvivors[T storage.Record](tbl storage.Table[T], same func(T) storage.Filter) func(ctx context.Context, moving T, to string) (T, bool, error) {
	return func(ctx context.Context, moving T, to string) (T, bool, error) {
		_, ok, err := counterpart(ctx, tbl, to, same(moving))
		return moving, ok && err == nil, err
	}
}

// counterpart returns the record of tbl of contact to that key matches.
func counterpart[T storage.Record](ctx context.Context, tbl storage.Table[T], to string, key storage.Filter) (T, bool, error) {
	var zero T
	page, err := tbl.List(storage.AsSystem(ctx), storage.ListQuery{Filter: and(storage.Eq("contact_id", to), key), PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil || len(page.Items) == 0 {
		return zero, false, err
	}
	return page.Items[0], true, nil
}
