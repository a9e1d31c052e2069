package sales

import (
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// Movers returns the movers of the sales records that refer to contacts
// and accounts, for contacts.Options.Movers: when two contacts or two
// accounts merge, the loser's leads, deals (primary contact and contact
// roles), quotes, invoices, orders, tasks and projects move to the
// survivor, each through the generic write path. crm.New gives them.
func Movers(store Store) []storage.Mover {
	c, a := contacts.ObjectContact, contacts.ObjectAccount
	return []storage.Mover{
		storage.NewIDRepointer(store, store.Leads(), c, func(l *Lead) *string { return &l.ContactID }),
		storage.NewIDRepointer(store, store.Leads(), a, func(l *Lead) *string { return &l.AccountID }),
		storage.NewRepointer(store, store.Opportunities(), c,
			func(o *Opportunity) dealPeople { return dealPeople{o.ContactID, o.ContactRoles} },
			func(o *Opportunity, p dealPeople) { o.ContactID, o.ContactRoles = p.ContactID, p.ContactRoles },
			func(p dealPeople, from, to string) dealPeople {
				out := dealPeople{ContactID: storage.ReplaceID(p.ContactID, from, to)}
				seen := map[string]bool{}
				for _, r := range p.ContactRoles {
					r.ContactID = storage.ReplaceID(r.ContactID, from, to)
					if !seen[r.ContactID] {
						seen[r.ContactID] = true
						out.ContactRoles = append(out.ContactRoles, r)
					}
				}
				return out
			}),
		storage.NewIDRepointer(store, store.Opportunities(), a, func(o *Opportunity) *string { return &o.AccountID }),
		storage.NewIDRepointer(store, store.Quotes(), c, func(q *Quote) *string { return &q.ContactID }),
		storage.NewIDRepointer(store, store.Quotes(), a, func(q *Quote) *string { return &q.AccountID }),
		storage.NewIDRepointer(store, store.Invoices(), c, func(i *Invoice) *string { return &i.ContactID }),
		storage.NewIDRepointer(store, store.Invoices(), a, func(i *Invoice) *string { return &i.AccountID }),
		storage.NewIDRepointer(store, store.Orders(), c, func(o *Order) *string { return &o.ContactID }),
		storage.NewIDRepointer(store, store.Orders(), a, func(o *Order) *string { return &o.AccountID }),
		taskMover(store, c),
		taskMover(store, a),
		storage.NewIDRepointer(store, store.Projects(), a, func(p *Project) *string { return &p.AccountID }),
	}
}

// dealPeople are the references of a deal to contacts.
type dealPeople struct {
	ContactID    string        `json:"contact_id,omitempty"`
	ContactRoles []ContactRole `json:"contact_roles,omitempty"`
}

// taskMover moves the related records of tasks of type target.
func taskMover(store Store, target string) storage.Mover {
	return storage.NewRepointer(store, store.Tasks(), target,
		func(t *Task) []storage.Ref { return t.Related },
		func(t *Task, r []storage.Ref) { t.Related = r },
		func(r []storage.Ref, from, to string) []storage.Ref { return storage.ReplaceRefs(r, target, from, to) })
}
