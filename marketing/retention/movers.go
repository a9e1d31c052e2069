package retention

import (
	"context"
	"errors"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/merge"
)

// Movers returns the merge movers of the retention records about a contact
// (contacts.Options.Movers; crm.New passes them): when two contacts merge,
// the loser's RFM record moves to the survivor unless the survivor has one,
// in which case the loser's is removed (and put back on undo); the next
// RFMs.Sync rescores the survivor from the orders and deals that moved to
// it.
func Movers(store Store) []merge.Mover {
	t := tablesOf(store)
	byContact := func(from, _ string) storage.Filter { return storage.Eq("contact_id", from) }
	return append([]merge.Mover{
		merge.NewIDRepointer(store, t.rfm, contacts.ObjectContact, func(r *RFM) *string { return &r.ContactID }).Find(byContact).
			Clash(func(ctx context.Context, moving *RFM, to string) (*RFM, bool, error) {
				_, err := storage.First(storage.AsSystem(ctx), t.rfm, storage.Eq("contact_id", to))
				return moving, err == nil, ignoreNotFound(err)
			}),
	}, loyaltyMovers(store)...)
}

// ignoreNotFound is err unless it is ErrNotFound.
func ignoreNotFound(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}
