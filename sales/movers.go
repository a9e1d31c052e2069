package sales

import (
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/merge"
)

// Movers returns the movers of the sales records that refer to contacts
// and accounts, for contacts.Options.Movers: when two contacts or two
// accounts merge, the loser's leads, deals (primary contact and contact
// roles), quotes, invoices, orders, tasks and projects move to the
// survivor, each through the generic write path. crm.New gives them.
func Movers(store Store) []merge.Mover {
	c, a := contacts.ObjectContact, contacts.ObjectAccount
	t := tablesOf(store)
	return []merge.Mover{
		merge.NewIDRepointer(store, t.leads, c, func(l *Lead) *string { return &l.ContactID }),
		merge.NewIDRepointer(store, t.leads, a, func(l *Lead) *string { return &l.AccountID }),
		merge.NewRepointer(store, t.opps, c,
			func(o *Opportunity) dealPeople { return dealPeople{o.ContactID, o.ContactRoles} },
			func(o *Opportunity, p dealPeople) { o.ContactID, o.ContactRoles = p.ContactID, p.ContactRoles },
			func(p dealPeople, from, to string) dealPeople {
				out := dealPeople{ContactID: merge.ReplaceID(p.ContactID, from, to)}
				seen := map[string]bool{}
				for _, r := range p.ContactRoles {
					r.ContactID = merge.ReplaceID(r.ContactID, from, to)
					if !seen[r.ContactID] {
						seen[r.ContactID] = true
						out.ContactRoles = append(out.ContactRoles, r)
					}
				}
				return out
			}),
		merge.NewIDRepointer(store, t.opps, a, func(o *Opportunity) *string { return &o.AccountID }),
		merge.NewIDRepointer(store, t.quotes, c, func(q *Quote) *string { return &q.ContactID }),
		merge.NewIDRepointer(store, t.quotes, a, func(q *Quote) *string { return &q.AccountID }),
		merge.NewIDRepointer(store, t.invoices, c, func(i *Invoice) *string { return &i.ContactID }),
		merge.NewIDRepointer(store, t.invoices, a, func(i *Invoice) *string { return &i.AccountID }),
		merge.NewIDRepointer(store, t.orders, c, func(o *Order) *string { return &o.ContactID }),
		merge.NewIDRepointer(store, t.orders, a, func(o *Order) *string { return &o.AccountID }),
		taskMover(store, t.tasks, c),
		taskMover(store, t.tasks, a),
		merge.NewIDRepointer(store, t.projects, a, func(p *Project) *string { return &p.AccountID }),
	}
}

// dealPeople are the references of a deal to contacts.
type dealPeople struct {
	ContactID    string        `json:"contact_id,omitempty"`
	ContactRoles []ContactRole `json:"contact_roles,omitempty"`
}

// taskMover moves the related records of tasks of type target.
func taskMover(store Store, tasks storage.Table[*Task], target string) merge.Mover {
	return merge.NewRepointer(store, tasks, target,
		func(t *Task) []storage.Ref { return t.Related },
		func(t *Task, r []storage.Ref) { t.Related = r },
		func(r []storage.Ref, from, to string) []storage.Ref { return merge.ReplaceRefs(r, target, from, to) })
}
