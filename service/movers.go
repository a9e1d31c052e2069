package service

import (
	"context"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/merge"
)

// Movers returns what merging two contacts, or two accounts, moves of the
// service module (contacts.Options.Movers): the loser's cases and their
// messages, its chat conversations and their messages, and its surveys go
// to the survivor, and so do its votes on articles (where both voted on
// one, the later vote stays).
func Movers(store Store) []merge.Mover {
	t := tablesOf(store)
	by := func(field string) func(from, _ string) storage.Filter {
		return func(from, _ string) storage.Filter { return storage.Eq(field, from) }
	}
	return []merge.Mover{
		merge.NewIDRepointer(store, t.cases, contacts.ObjectContact, func(c *Case) *string { return &c.ContactID }).Find(by("contact_id")),
		merge.NewIDRepointer(store, t.messages, contacts.ObjectContact, func(m *Message) *string { return &m.ContactID }).Find(by("contact_id")),
		merge.NewIDRepointer(store, t.surveys, contacts.ObjectContact, func(r *SurveyRequest) *string { return &r.ContactID }).Find(by("contact_id")),
		merge.NewIDRepointer(store, t.cases, contacts.ObjectAccount, func(c *Case) *string { return &c.AccountID }).Find(by("account_id")),
		merge.NewIDRepointer(store, t.conversations, contacts.ObjectContact, func(c *Conversation) *string { return &c.ContactID }).Find(by("contact_id")),
		merge.NewIDRepointer(store, t.chat, contacts.ObjectContact, func(m *ChatMessage) *string { return &m.ContactID }).Find(by("contact_id")),
		merge.NewRepointer(store, t.votes, contacts.ObjectContact, func(v *ArticleVote) string { return v.ContactID },
			func(v *ArticleVote, id string) { v.ContactID, v.Voter = id, contactVoter+id }, merge.ReplaceID).
			Find(by("contact_id")).Clash(t.voteClash),
	}
}

// voteClash is the clash of a contact's vote moving to the survivor of a
// merge: when the survivor voted on the same article too, the earlier of
// the two votes goes.
func (t tables) voteClash(ctx context.Context, moving *ArticleVote, to string) (*ArticleVote, bool, error) {
	page, err := t.votes.List(ctx, storage.ListQuery{Filter: storage.And{storage.Eq("article_id", moving.ArticleID),
		storage.Eq("voter", contactVoter+to)}, PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil || len(page.Items) == 0 {
		return nil, false, err
	}
	if have := page.Items[0]; moving.UpdatedAt.After(have.UpdatedAt) {
		return have, true, nil
	}
	return moving, true, nil
}
