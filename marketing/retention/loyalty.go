package retention

import (
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/merge"
)

// Loyalty runs the workspace's loyalty programs.
type Loyalty struct{ s *Service }

func newLoyalty(s *Service) *Loyalty { return &Loyalty{s: s} }

// loyaltyTypes are the record types of loyalty programs.
func loyaltyTypes() []storage.RecordType { return nil }

// loyaltyMovers are the merge movers of loyalty records.
func loyaltyMovers(Store) []merge.Mover { return nil }
