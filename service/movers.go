package service

import (
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/merge"
)

// Movers returns what merging two contacts, or two accounts, moves of the
// service module (contacts.Options.Movers): the loser's cases and their
// messages, its chat conversations and their messages, and its surveys,
// go to the survivor.
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
	}
}
