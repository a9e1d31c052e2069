package contacts

import (
	"context"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/merge"
)

// Store is what the contacts package needs from a storage adapter: the
// generic path of its record types (the module must be registered, see
// Module), search, the change log, and the timelines of its records.
type Store interface {
	storage.Transactor
	storage.Tables
	storage.Searcher
	storage.EventLog
	storage.Scrubber
	storage.LinkIndex
	storage.Timeliner
}

// TimelineEntry is one entry of a timeline: an activity or a change event.
type TimelineEntry struct {
	// At is the activity's OccurredAt or the event's OccurredAt.
	At time.Time `json:"at"`
	// Activity is set for an activity entry.
	Activity *Activity `json:"activity,omitempty"`
	// Event is set for a change event entry.
	Event *storage.Event `json:"event,omitempty"`
	// Record is set for an entry of another module's record type that
	// shows in timelines (storage.TypeOptions.TimelineAt), such as a case.
	Record storage.Record `json:"record,omitempty"`
}

// Options configure the contacts service. The zero value works.
type Options struct {
	// DefaultRegion is the ISO 3166-1 alpha-2 region of phone numbers written
	// without a country code, such as "US". Default: "" (numbers must start with +).
	DefaultRegion string
	// TombstoneKey, when set, is the secret of the keyed hash (HMAC-SHA256)
	// that Erase keeps of an erased email, so that imports can skip the
	// address later. Default: nil (no tombstones).
	TombstoneKey []byte
	// Movers move the records of other modules that refer to contacts and
	// accounts when two are merged (see Contacts.Merge); crm.New gives
	// those of sales. The module's own records (activities, consents,
	// contacts of an account) move without. Default: none.
	Movers []merge.Mover
}

// Service is the contacts module: contacts, accounts, activities, custom
// fields and search.
type Service struct {
	store  Store
	t      tables
	opts   Options
	movers []merge.Mover // this module's and Options.Movers

	// Contacts manages people.
	Contacts *Contacts
	// Accounts manages companies.
	Accounts *Accounts
	// Activities manages the communication history.
	Activities *Activities
	// Fields manages custom field definitions.
	Fields *Fields
	// Consents records what contacts agreed to (GDPR).
	Consents *Consents
}

// NewService returns the contacts module on store.
func NewService(store Store, opts Options) *Service {
	s := &Service{store: store, t: tablesOf(store), opts: opts}
	s.Contacts = &Contacts{s}
	s.Accounts = &Accounts{s}
	s.Activities = &Activities{s}
	s.Consents = &Consents{s}
	s.Fields = &Fields{s}
	s.movers = append(s.ownMovers(), opts.Movers...)
	return s
}

// SearchResult is one person or company found by Search.
type SearchResult struct {
	storage.SearchHit
	// Contact is set when the hit is a contact.
	Contact *Contact
	// Account is set when the hit is an account.
	Account *Account
}

// Search finds contacts and accounts by name, email, phone, domain, job title
// and tags. Each word of text matches as a prefix; a result has every word.
// Results come best first, at most limit (0 means 20). The records of the
// hits are loaded with one query per record type.
func (s *Service) Search(ctx context.Context, text string, limit int) ([]SearchResult, error) {
	hits, err := s.store.Search(ctx, storage.SearchQuery{Text: text, Types: []string{ObjectContact, ObjectAccount}, Limit: limit})
	if err != nil || len(hits) == 0 {
		return nil, err
	}
	var cids, aids []string
	for _, h := range hits {
		if h.Ref.Type == ObjectContact {
			cids = append(cids, h.Ref.ID)
		} else {
			aids = append(aids, h.Ref.ID)
		}
	}
	cs, err := byID(ctx, s.t.contacts, cids)
	if err != nil {
		return nil, err
	}
	as, err := byID(ctx, s.t.accounts, aids)
	if err != nil {
		return nil, err
	}
	out := make([]SearchResult, 0, len(hits))
	for _, h := range hits {
		r := SearchResult{SearchHit: h, Contact: cs[h.Ref.ID], Account: as[h.Ref.ID]}
		if r.Contact == nil && r.Account == nil {
			continue // deleted between the two queries
		}
		out = append(out, r)
	}
	return out, nil
}

// byID loads the records with the given IDs in one query.
func byID[T storage.Record](ctx context.Context, tbl storage.Table[T], ids []string) (map[string]T, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	page, err := tbl.List(ctx, storage.ListQuery{
		Filter:    storage.Cmp{Field: "id", Op: storage.OpIn, Value: ids},
		PageQuery: storage.PageQuery{Limit: len(ids)},
	})
	if err != nil {
		return nil, err
	}
	m := make(map[string]T, len(page.Items))
	for _, r := range page.Items {
		m[r.RecordMeta().ID] = r
	}
	return m, nil
}

// timeline reads the store's timeline of ref as this package's entries.
func (s *Service) timeline(ctx context.Context, ref storage.Ref, q storage.PageQuery) (storage.Page[TimelineEntry], error) {
	p, err := s.store.Timeline(ctx, ref, q)
	if err != nil {
		return storage.Page[TimelineEntry]{}, err
	}
	out := storage.Page[TimelineEntry]{Items: make([]TimelineEntry, 0, len(p.Items)), Next: p.Next}
	for _, e := range p.Items {
		te := TimelineEntry{At: e.At, Event: e.Event}
		if a, ok := e.Record.(*Activity); ok {
			te.Activity = a
		} else if e.Record != nil {
			te.Record = e.Record
		}
		out.Items = append(out.Items, te)
	}
	return out, nil
}
