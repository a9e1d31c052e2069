package service

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/crmkit/crm/storage"
)

// StatusCategory is what a status means for the clock and the queues:
// open (the desk is to act), paused (waiting on the customer or a third
// party) or resolved.
type StatusCategory string

// The status categories.
const (
	StatusOpen     StatusCategory = "open"
	StatusPaused   StatusCategory = "paused"
	StatusResolved StatusCategory = "resolved"
)

// Status is one of a workspace's case statuses.
type Status struct {
	// Key names the status in cases and expressions ("pending"): a key
	// (lower-case letters, digits, underscores).
	Key      string         `json:"key"`
	Name     string         `json:"name"`
	Category StatusCategory `json:"category"`
}

// DefaultStatuses are a workspace's statuses until it sets its own: new
// (the default) and open, pending and on hold (paused), solved and closed.
var DefaultStatuses = []Status{
	{Key: "new", Name: "New", Category: StatusOpen},
	{Key: "open", Name: "Open", Category: StatusOpen},
	{Key: "pending", Name: "Pending", Category: StatusPaused},
	{Key: "on_hold", Name: "On hold", Category: StatusPaused},
	{Key: "solved", Name: "Solved", Category: StatusResolved},
	{Key: "closed", Name: "Closed", Category: StatusResolved},
}

// Settings are a workspace's service settings: one record per workspace,
// made with the defaults the first time it is asked for.
type Settings struct {
	storage.Meta
	// Statuses are the case statuses in order; the first open one is the
	// default of new cases.
	Statuses []Status `bun:"statuses" json:"statuses"`
	// ChatCalendarID is the calendar of live chat's business hours
	// (SetChat): outside them a visitor's first message is answered with
	// ChatAwayText (DefaultAwayText when ""). "": always open.
	ChatCalendarID string `bun:"chat_calendar_id,notnull" json:"chat_calendar_id,omitempty"`
	ChatAwayText   string `bun:"chat_away_text,notnull" json:"chat_away_text,omitempty"`
}

// RecordType returns "service_settings".
func (*Settings) RecordType() string { return ObjectSettings }

// Status returns the status key.
func (s *Settings) Status(key string) (Status, bool) {
	i := slices.IndexFunc(s.Statuses, func(st Status) bool { return st.Key == key })
	if i < 0 {
		return Status{}, false
	}
	return s.Statuses[i], true
}

// First returns the first status of category c.
func (s *Settings) First(c StatusCategory) Status {
	i := slices.IndexFunc(s.Statuses, func(st Status) bool { return st.Category == c })
	if i < 0 {
		return Status{}
	}
	return s.Statuses[i]
}

// DefaultStatus returns the key of the status new cases get: the first
// open one.
func (s *Settings) DefaultStatus() string { return s.First(StatusOpen).Key }

// Keys returns the statuses' keys, in order.
func (s *Settings) Keys() []string {
	out := make([]string, len(s.Statuses))
	for i, st := range s.Statuses {
		out[i] = st.Key
	}
	return out
}

// SettingsService reads and changes the workspace's service settings.
type SettingsService struct{ s *Service }

// Get returns the workspace's settings, made with DefaultStatuses the first
// time.
func (ss *SettingsService) Get(ctx context.Context) (*Settings, error) {
	set, _, err := storage.FirstOrCreate(ctx, ss.s.store, ss.s.t.settings, nil, func(ctx context.Context) (*Settings, error) {
		set := &Settings{Statuses: slices.Clone(DefaultStatuses)}
		return set, ss.s.t.settings.Insert(storage.AsSystem(ctx), set)
	})
	return set, err
}

// SetStatuses replaces the workspace's case statuses. Every category needs
// at least one status; keys are unique. A status that cases are in cannot
// be removed (ErrConflict), nor moved to another category (the cases'
// clocks and queues depend on it).
func (ss *SettingsService) SetStatuses(ctx context.Context, statuses []Status) (*Settings, error) {
	cur, err := ss.Get(ctx)
	if err != nil {
		return nil, err
	}
	return storage.Modify(ctx, ss.s.store, ss.s.t.settings, cur.ID, 0, func(ctx context.Context, set *Settings) error {
		var v storage.ValidationError
		seen := map[string]bool{}
		has := map[StatusCategory]bool{}
		next := make([]Status, len(statuses))
		for i, st := range statuses {
			f := fmt.Sprintf("statuses[%d]", i)
			st.Key, st.Name = strings.TrimSpace(st.Key), strings.TrimSpace(st.Name)
			switch {
			case !storage.ValidKey(st.Key):
				v.Add(f+".key", "%q is not a key (lower-case letters, digits, underscores)", st.Key)
			case seen[st.Key]:
				v.Add(f+".key", "%q is given twice", st.Key)
			}
			seen[st.Key] = true
			if st.Name == "" {
				st.Name = st.Key
			}
			storage.TrimText(&v, f+".name", &st.Name, MaxTextLen)
			switch st.Category {
			case StatusOpen, StatusPaused, StatusResolved:
				has[st.Category] = true
			default:
				v.Add(f+".category", "%q is not open, paused or resolved", st.Category)
			}
			next[i] = st
		}
		for _, c := range []StatusCategory{StatusOpen, StatusPaused, StatusResolved} {
			if !has[c] {
				v.Add("statuses", "no status of category %s", c)
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		for _, old := range set.Statuses {
			st, kept := (&Settings{Statuses: next}).Status(old.Key)
			if kept && st.Category == old.Category {
				continue
			}
			n, err := ss.s.t.cases.Count(storage.AsSystem(ctx), storage.Eq("status", old.Key))
			if err != nil {
				return err
			}
			if n > 0 && !kept {
				return fmt.Errorf("%w: %d cases are %s; move them before removing the status", storage.ErrConflict, n, old.Key)
			}
			if n > 0 {
				return fmt.Errorf("%w: %d cases are %s; a status in use keeps its category", storage.ErrConflict, n, old.Key)
			}
		}
		set.Statuses = next
		return nil
	})
}
