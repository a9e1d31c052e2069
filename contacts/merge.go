package contacts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/merge"
)

// MergeRule picks the value of a field a merge's caller did not choose.
type MergeRule string

// The merge rules. List fields (emails, phones, addresses, social
// profiles, tags) not chosen explicitly are the union of both records'
// lists, the survivor's entries first, whatever the rule.
const (
	// RuleSurvivor keeps the survivor's value, even an empty one. The default.
	RuleSurvivor MergeRule = "survivor"
	// RuleNonEmpty keeps the survivor's value, or takes the loser's when the
	// survivor has none.
	RuleNonEmpty MergeRule = "non_empty"
	// RuleNewest takes the value of the record changed last (UpdatedAt), or
	// the other's when that one has none.
	RuleNewest MergeRule = "newest"
)

// Side names one of the two records of a merge.
type Side string

// The sides of a merge.
const (
	FromSurvivor Side = "survivor"
	FromLoser    Side = "loser"
)

// The event types of a merge and its undo, for contacts; an account
// merge writes the same with the prefix "account.".
const (
	// EventContactMerged is the survivor's event. Besides the survivor's
	// changed fields it holds "merged_from" (the loser's ID) and the
	// snapshots "snapshot.loser" (the loser, whole), "snapshot.survivor"
	// (each field the merge changed, old and new, by JSON name) and
	// "snapshot.moved" (the merge.Moved records).
	EventContactMerged = "contact.merged"
	// EventContactMergedAway is the loser's deletion; "merged_into" holds
	// the survivor's ID.
	EventContactMergedAway = "contact.merged_away"
	// EventContactUnmerged is the survivor's event of an undo;
	// "undone_merge" holds the ID of the merge event.
	EventContactUnmerged = "contact.unmerged"
	// EventContactRestored is the loser's creation again by an undo.
	EventContactRestored = "contact.restored"
)

// The names of the changes a merge event holds besides the record's
// fields.
const (
	changeMergedFrom       = "merged_from"
	changeMergedInto       = "merged_into"
	changeUndoneMerge      = "undone_merge"
	changeSnapshotLoser    = storage.SnapshotPrefix + "loser"
	changeSnapshotSurvivor = storage.SnapshotPrefix + "survivor"
	changeSnapshotMoved    = storage.SnapshotPrefix + "moved"
)

// MergeRequest is the input of Contacts.Merge and Accounts.Merge.
type MergeRequest struct {
	// SurvivorID is the record that stays; LoserID the one merged into it
	// and deleted. Both are required, distinct, of the context's workspace.
	SurvivorID, LoserID string
	// SurvivorVersion and LoserVersion, when not 0, make the merge fail
	// with ErrStale unless the record is still at that version (the
	// versions the user saw when choosing the fields).
	SurvivorVersion, LoserVersion int64
	// Rule picks the fields not in Choose. Default RuleSurvivor.
	Rule MergeRule
	// Choose takes a field from one side: "email", "last_name", "tags",
	// "custom.tier"… (the names of filters and change events). A list
	// field chosen takes that side's list only. When a contact's primary
	// email comes from one side, the other's primary email is kept among
	// Emails unless "emails" is chosen too.
	Choose map[string]Side
}

// MergeResult is what a merge did.
type MergeResult[T storage.Record] struct {
	// Survivor is the merged record as stored.
	Survivor T `json:"survivor"`
	// EventID names the survivor's merge event: UndoMerge takes it.
	EventID string `json:"event_id"`
	// Moved lists the records that referred to the loser and refer to the
	// survivor since, and those removed as duplicates of the survivor's.
	Moved []merge.Moved `json:"moved"`
}

// UndoResult is what undoing a merge did.
type UndoResult[T storage.Record] struct {
	// Survivor is the survivor with its fields as before the merge.
	Survivor T `json:"survivor"`
	// Loser is the merged record again, under its ID.
	Loser T `json:"loser"`
	// Gone are moved records that could not be put back: deleted since
	// the merge, or out of the actor's sight.
	Gone []storage.Ref `json:"gone,omitempty"`
}

// mergeField is one field of a record type T as a merge sees it.
type mergeField[T any] struct {
	name  string
	empty func(*T) bool
	take  func(dst, src *T)   // dst's value becomes src's
	union func(dst, other *T) // list fields: adds other's entries dst lacks
}

func textField[T any](name string, f func(*T) *string) mergeField[T] {
	return mergeField[T]{name: name,
		empty: func(r *T) bool { return *f(r) == "" },
		take:  func(d, s *T) { *f(d) = *f(s) }}
}

func listField[T, E any](name string, f func(*T) *[]E, key func(E) string) mergeField[T] {
	return mergeField[T]{name: name,
		empty: func(r *T) bool { return len(*f(r)) == 0 },
		take:  func(d, s *T) { *f(d) = slices.Clone(*f(s)) },
		union: func(d, o *T) {
			out := slices.Clone(*f(d))
			seen := map[string]bool{}
			for _, e := range out {
				seen[key(e)] = true
			}
			for _, e := range *f(o) {
				if k := key(e); !seen[k] {
					seen[k] = true
					out = append(out, e)
				}
			}
			*f(d) = out
		}}
}

func valueField[T any, V comparable](name string, f func(*T) *V) mergeField[T] {
	var zero V
	return mergeField[T]{name: name,
		empty: func(r *T) bool { return *f(r) == zero },
		take:  func(d, s *T) { *f(d) = *f(s) }}
}

// jsonKey is the key of a list entry compared as a whole.
func jsonKey[E any](e E) string {
	b, _ := json.Marshal(e)
	return string(b)
}

// contactFields are the fields of a contact a merge chooses between.
var contactFields = []mergeField[Contact]{
	textField("prefix", func(c *Contact) *string { return &c.Prefix }),
	textField("first_name", func(c *Contact) *string { return &c.FirstName }),
	textField("middle_name", func(c *Contact) *string { return &c.MiddleName }),
	textField("last_name", func(c *Contact) *string { return &c.LastName }),
	textField("suffix", func(c *Contact) *string { return &c.Suffix }),
	textField("email", func(c *Contact) *string { return &c.Email }),
	listField("emails", func(c *Contact) *[]EmailAddress { return &c.Emails }, func(e EmailAddress) string { return e.Address }),
	listField("phones", func(c *Contact) *[]Phone { return &c.Phones }, func(p Phone) string { return p.Number }),
	listField("addresses", func(c *Contact) *[]Address { return &c.Addresses }, jsonKey[Address]),
	textField("job_title", func(c *Contact) *string { return &c.JobTitle }),
	textField("department", func(c *Contact) *string { return &c.Department }),
	listField("social_profiles", func(c *Contact) *[]SocialProfile { return &c.SocialProfiles }, jsonKey[SocialProfile]),
	textField("account_id", func(c *Contact) *string { return &c.AccountID }),
	textField("owner_id", func(c *Contact) *string { return &c.OwnerID }),
	textField("team_id", func(c *Contact) *string { return &c.TeamID }),
	textField("lifecycle", func(c *Contact) *string { return (*string)(&c.Lifecycle) }),
	textField("source", func(c *Contact) *string { return &c.Source }),
	listField("tags", func(c *Contact) *[]string { return &c.Tags }, func(s string) string { return s }),
}

// accountFields are the fields of an account a merge chooses between.
var accountFields = []mergeField[Account]{
	textField("name", func(a *Account) *string { return &a.Name }),
	textField("domain", func(a *Account) *string { return &a.Domain }),
	textField("industry", func(a *Account) *string { return &a.Industry }),
	valueField("employees", func(a *Account) *int64 { return &a.Employees }),
	valueField("annual_revenue", func(a *Account) *storage.Money { return &a.AnnualRevenue }),
	textField("parent_id", func(a *Account) *string { return &a.ParentID }),
	textField("phone", func(a *Account) *string { return &a.Phone }),
	listField("addresses", func(a *Account) *[]Address { return &a.Addresses }, jsonKey[Address]),
	textField("description", func(a *Account) *string { return &a.Description }),
	textField("owner_id", func(a *Account) *string { return &a.OwnerID }),
	textField("team_id", func(a *Account) *string { return &a.TeamID }),
	listField("tags", func(a *Account) *[]string { return &a.Tags }, func(s string) string { return s }),
}

// checkMerge validates the shape of a merge's input.
func checkMerge[T any](survivorID, loserID string, rule MergeRule, choose map[string]Side, fields []mergeField[T]) error {
	var v storage.ValidationError
	for f, id := range map[string]string{"survivor_id": survivorID, "loser_id": loserID} {
		if id == "" {
			v.Add(f, "is required")
		} else if !storage.ValidID(id) {
			v.Add(f, "%q is not a record ID", id)
		}
	}
	if survivorID != "" && survivorID == loserID {
		v.Add("loser_id", "is the survivor: a record cannot be merged into itself")
	}
	switch rule {
	case "", RuleSurvivor, RuleNonEmpty, RuleNewest:
	default:
		v.Add("rule", "%q is not survivor, non_empty or newest", rule)
	}
	for _, name := range slices.Sorted(maps.Keys(choose)) {
		known := slices.ContainsFunc(fields, func(f mergeField[T]) bool { return f.name == name })
		if k, ok := strings.CutPrefix(name, "custom."); ok {
			known = storage.ValidKey(k)
		}
		if !known {
			v.Add("choose."+name, "is not a field a merge can choose")
		} else if s := choose[name]; s != FromSurvivor && s != FromLoser {
			v.Add("choose."+name, "%q is not survivor or loser", s)
		}
	}
	// Fields are sorted so that the error reads the same every time.
	slices.SortStableFunc(v.Fields, func(a, b storage.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return v.Err()
}

// pick says which side's value a rule takes.
func pick(rule MergeRule, survivorEmpty, loserEmpty, loserNewer bool) Side {
	switch rule {
	case RuleNonEmpty:
		if survivorEmpty && !loserEmpty {
			return FromLoser
		}
	case RuleNewest:
		if loserNewer && !loserEmpty || !loserNewer && survivorEmpty && !loserEmpty {
			return FromLoser
		}
	}
	return FromSurvivor
}

// mergeValues returns the survivor with each field merged from the loser
// as choose and rule say; custom values are merged key by key.
func mergeValues[T any](fields []mergeField[T], survivor, loser *T, custom func(*T) *map[string]any,
	rule MergeRule, choose map[string]Side, loserNewer bool) *T {
	merged := *survivor
	for _, f := range fields {
		side, ok := choose[f.name]
		if !ok {
			if f.union != nil {
				f.union(&merged, loser)
				continue
			}
			side = pick(rule, f.empty(survivor), f.empty(loser), loserNewer)
		}
		if side == FromLoser {
			f.take(&merged, loser)
		}
	}
	sc, lc := *custom(survivor), *custom(loser)
	out := make(map[string]any, len(sc)+len(lc))
	for _, k := range keysOf(sc, lc) {
		side, ok := choose["custom."+k]
		if !ok {
			side = pick(rule, emptyValue(sc[k]), emptyValue(lc[k]), loserNewer)
		}
		v := sc[k]
		if side == FromLoser {
			v = lc[k]
		}
		if !emptyValue(v) {
			out[k] = v
		}
	}
	if len(out) == 0 {
		out = nil
	}
	*custom(&merged) = out
	return &merged
}

// keysOf returns the keys of a and b, sorted, each once.
func keysOf[V any](a, b map[string]V) []string {
	keys := slices.AppendSeq(slices.Collect(maps.Keys(a)), maps.Keys(b))
	slices.Sort(keys)
	return slices.Compact(keys)
}

// emptyValue reports whether a custom value is missing: nil, "" or an
// empty list.
func emptyValue(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case []string:
		return len(v) == 0
	}
	return false
}

// fieldPatch is one field a merge changed: its value before and after,
// as JSON (nil when empty).
type fieldPatch struct {
	Old json.RawMessage `json:"old,omitempty"`
	New json.RawMessage `json:"new,omitempty"`
}

// flatten returns the JSON fields of a record, the keys of its "custom"
// map as "custom.<key>".
func flatten(rec any) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if c, ok := m["custom"]; ok {
		delete(m, "custom")
		var cm map[string]json.RawMessage
		if err := json.Unmarshal(c, &cm); err != nil {
			return nil, err
		}
		for k, v := range cm {
			m["custom."+k] = v
		}
	}
	return m, nil
}

// changedFields returns the fields that differ between before and after, two
// records of one type, the bookkeeping fields aside.
func changedFields(before, after any) (map[string]fieldPatch, error) {
	b, err := flatten(before)
	if err != nil {
		return nil, err
	}
	a, err := flatten(after)
	if err != nil {
		return nil, err
	}
	out := map[string]fieldPatch{}
	for _, k := range keysOf(b, a) {
		if slices.Contains(storage.MetaFields, k) || bytes.Equal(b[k], a[k]) {
			continue
		}
		out[k] = fieldPatch{Old: b[k], New: a[k]}
	}
	return out, nil
}

// unpatch sets each field of patch back to its old value in *rec, which
// must hold the new one; a field changed since is ErrConflict naming it.
func unpatch[T any](rec *T, patch map[string]fieldPatch) error {
	m, err := flatten(rec)
	if err != nil {
		return err
	}
	var changed []string
	for _, k := range slices.Sorted(maps.Keys(patch)) {
		p := patch[k]
		if !merge.EqualJSON(m[k], p.New) {
			changed = append(changed, k)
			continue
		}
		if p.Old == nil {
			delete(m, k)
		} else {
			m[k] = p.Old
		}
	}
	if len(changed) > 0 {
		return fmt.Errorf("%w: %s changed since the merge (set it back to the merged value to undo)", storage.ErrConflict, strings.Join(changed, ", "))
	}
	custom := map[string]json.RawMessage{}
	for k, v := range m {
		if ck, ok := strings.CutPrefix(k, "custom."); ok {
			custom[ck] = v
			delete(m, k)
		}
	}
	if len(custom) > 0 {
		b, err := json.Marshal(custom)
		if err != nil {
			return err
		}
		m["custom"] = b
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var fresh T
	if err := json.Unmarshal(b, &fresh); err != nil {
		return err
	}
	*rec = fresh
	return nil
}

// noHiddenFields refuses a merge or an undo to a principal whose role
// hides fields of recordType: the snapshot of the loser holds every field,
// and a merge must see the values it moves.
func noHiddenFields(ctx context.Context, recordType string) error {
	p := storage.PrincipalFrom(ctx)
	if p == nil || p.IsSystem() {
		return nil
	}
	for f, a := range p.Fields[recordType] {
		if a == storage.FieldHidden {
			return fmt.Errorf("%w: role %s hides %s field %s, and a merge needs every field", storage.ErrForbidden, p.Role, recordType, f)
		}
	}
	return nil
}

// getPair reads the survivor and the loser of a merge, and checks their
// versions (sv, lv) when not 0.
func getPair[T storage.Record](ctx context.Context, tbl storage.Table[T], survivorID, loserID string, sv, lv int64) (T, T, error) {
	var zero T
	s, err := tbl.Get(ctx, survivorID)
	if err != nil {
		return zero, zero, fmt.Errorf("survivor_id: %w", err)
	}
	l, err := tbl.Get(ctx, loserID)
	if err != nil {
		return zero, zero, fmt.Errorf("loser_id: %w", err)
	}
	for _, c := range []struct {
		rec  T
		want int64
	}{{s, sv}, {l, lv}} {
		if m := c.rec.RecordMeta(); c.want != 0 && m.Version != c.want {
			return zero, zero, fmt.Errorf("%w: %s %s is at version %d, not %d", storage.ErrStale, c.rec.RecordType(), m.ID, m.Version, c.want)
		}
	}
	return s, l, nil
}

// moveRelated runs every mover of target, from the loser to the survivor,
// then checks in the link index that no record refers to the loser any
// more.
func (s *Service) moveRelated(ctx context.Context, target, from, to string) ([]merge.Moved, error) {
	var moved []merge.Moved
	for _, m := range s.movers {
		if m.Target() != target {
			continue
		}
		ms, err := m.Move(ctx, from, to)
		if err != nil {
			return nil, err
		}
		moved = append(moved, ms...)
	}
	left, err := s.store.LinkedFrom(ctx, storage.Ref{Type: target, ID: from}, 10)
	if err != nil {
		return nil, err
	}
	if len(left) > 0 {
		var types []string
		for _, r := range left {
			if !slices.Contains(types, r.Type) {
				types = append(types, r.Type)
			}
		}
		sentinel := storage.ErrConflict
		if p := storage.PrincipalFrom(ctx); p != nil && !p.IsSystem() {
			sentinel = storage.ErrForbidden
		}
		return nil, fmt.Errorf("%w: records of type %s still refer to %s %s and cannot be moved: the actor may not change them, or their module gave no mover",
			sentinel, strings.Join(types, ", "), target, from)
	}
	return moved, nil
}

// mergeChanges are the changes a merge adds to the survivor's event.
func mergeChanges(loserID string, loser any, patch map[string]fieldPatch, moved []merge.Moved) ([]storage.Change, error) {
	var out []storage.Change
	for _, c := range []struct {
		field string
		v     any
	}{{changeMergedFrom, loserID}, {changeSnapshotLoser, loser}, {changeSnapshotSurvivor, patch}, {changeSnapshotMoved, moved}} {
		b, err := json.Marshal(c.v)
		if err != nil {
			return nil, err
		}
		out = append(out, storage.Change{Field: c.field, New: b})
	}
	return out, nil
}

// mergeSnapshot is what a merge event holds for its undo.
type mergeSnapshot struct {
	loserID string
	loser   json.RawMessage
	patch   map[string]fieldPatch
	moved   []merge.Moved
}

// readMerge reads the merge event eventID, of type mergedType.
func (s *Service) readMerge(ctx context.Context, eventID, mergedType string) (storage.Event, *mergeSnapshot, error) {
	ev, err := s.store.Event(ctx, eventID)
	if err != nil {
		return ev, nil, fmt.Errorf("event_id: %w", err)
	}
	if ev.Type != mergedType {
		return ev, nil, storage.Invalid("event_id", "is a %s event, not %s", ev.Type, mergedType)
	}
	snap := &mergeSnapshot{}
	var missing []string
	for _, c := range []struct {
		field string
		dst   any
	}{{changeMergedFrom, &snap.loserID}, {changeSnapshotLoser, &snap.loser},
		{changeSnapshotSurvivor, &snap.patch}, {changeSnapshotMoved, &snap.moved}} {
		ch, ok := ev.Change(c.field)
		if !ok || ch.New == nil {
			missing = append(missing, c.field)
			continue
		}
		if err := json.Unmarshal(ch.New, c.dst); err != nil {
			return ev, nil, fmt.Errorf("event %s: %s: %w", eventID, c.field, err)
		}
	}
	if len(missing) > 0 {
		return ev, nil, fmt.Errorf("%w: merge event %s holds no snapshot (%s): the person was erased", storage.ErrConflict, eventID,
			strings.Join(missing, ", "))
	}
	return ev, snap, nil
}

// merger is the merge and its undo for one record type.
type merger[T any, P interface {
	*T
	storage.Record
}] struct {
	s      *Service
	tbl    storage.Table[P]
	fields []mergeField[T]
	custom func(*T) *map[string]any
	// fix adjusts and validates the merged record, once the related
	// records have moved.
	fix func(ctx context.Context, merged, survivor, loser P) error
}

func (m merger[T, P]) object() string { return P(new(T)).RecordType() }

// merge is Contacts.Merge for any record type.
func (m merger[T, P]) merge(ctx context.Context, in MergeRequest) (*MergeResult[P], error) {
	s, object := m.s, m.object()
	if err := checkMerge(in.SurvivorID, in.LoserID, in.Rule, in.Choose, m.fields); err != nil {
		return nil, err
	}
	if err := noHiddenFields(ctx, object); err != nil {
		return nil, err
	}
	res := &MergeResult[P]{EventID: storage.NewID()}
	err := s.store.RunInTx(ctx, func(ctx context.Context) error {
		surv, loser, err := getPair(ctx, m.tbl, in.SurvivorID, in.LoserID, in.SurvivorVersion, in.LoserVersion)
		if err != nil {
			return err
		}
		sm, lm := surv.RecordMeta(), loser.RecordMeta()
		merged := P(mergeValues(m.fields, (*T)(surv), (*T)(loser), m.custom, in.Rule, in.Choose, lm.UpdatedAt.After(sm.UpdatedAt)))
		if res.Moved, err = s.moveRelated(ctx, object, lm.ID, sm.ID); err != nil {
			return err
		}
		if err := m.fix(ctx, merged, surv, loser); err != nil {
			return err
		}
		patch, err := changedFields(surv, merged)
		if err != nil {
			return err
		}
		changes, err := mergeChanges(lm.ID, loser, patch, res.Moved)
		if err != nil {
			return err
		}
		into, _ := json.Marshal(sm.ID)
		if err := m.tbl.Delete(ctx, loser, storage.WithEventType(object+".merged_away"),
			storage.WithEventChanges(storage.Change{Field: changeMergedInto, New: into})); err != nil {
			return fmt.Errorf("loser_id: %w", err)
		}
		if err := m.tbl.Update(ctx, surv, merged, storage.WithEventType(object+".merged"),
			storage.WithEventID(res.EventID), storage.WithEventChanges(changes...)); err != nil {
			return fmt.Errorf("survivor_id: %w", err)
		}
		res.Survivor = merged
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// undo is Contacts.UndoMerge for any record type.
func (m merger[T, P]) undo(ctx context.Context, eventID string) (*UndoResult[P], error) {
	s, object := m.s, m.object()
	if !storage.ValidID(eventID) {
		return nil, storage.Invalid("event_id", "%q is not an event ID", eventID)
	}
	if err := noHiddenFields(ctx, object); err != nil {
		return nil, err
	}
	res := &UndoResult[P]{}
	err := s.store.RunInTx(ctx, func(ctx context.Context) error {
		ev, snap, err := s.readMerge(ctx, eventID, object+".merged")
		if err != nil {
			return err
		}
		if _, err := m.tbl.Get(ctx, snap.loserID); err == nil {
			return fmt.Errorf("%w: %s %s exists: merge %s was undone already", storage.ErrConflict, object, snap.loserID, eventID)
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		undone, _ := json.Marshal(eventID)
		res.Survivor, err = storage.Modify(ctx, s.store, m.tbl, ev.Subject.ID, 0, func(ctx context.Context, next P) error {
			return unpatch((*T)(next), snap.patch)
		}, storage.WithEventType(object+".unmerged"), storage.WithEventChanges(storage.Change{Field: changeUndoneMerge, New: undone}))
		if err != nil {
			return fmt.Errorf("survivor %s: %w", ev.Subject.ID, err)
		}
		loser := P(new(T))
		if err := json.Unmarshal(snap.loser, loser); err != nil {
			return fmt.Errorf("event %s: the loser's snapshot: %w", eventID, err)
		}
		if err := m.tbl.Insert(ctx, loser, storage.Restoring(), storage.WithEventType(object+".restored")); err != nil {
			return fmt.Errorf("loser %s: %w", snap.loserID, err)
		}
		res.Loser = loser
		res.Gone, err = merge.UndoMoved(ctx, s.movers, snap.moved)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Merge merges the contact in.LoserID into in.SurvivorID, in one
// transaction: the survivor takes the fields in.Choose and in.Rule pick
// (lists are united), every record that refers to the loser is moved to
// the survivor (activities about it or that it took part in, consents,
// and through Options.Movers the
// records of other modules: leads, deals, quotes, invoices, orders,
// tasks), the loser is deleted (event contact.merged_away), and the
// survivor's event contact.merged holds the loser's snapshot and the
// moved records, from which UndoMerge puts everything back.
//
// Two consents to the same purpose keep the one given or withdrawn last;
// the other is removed (and comes back on undo). Shares of the loser are
// not moved: they name the loser's ID and apply again if the merge is
// undone.
//
// Errors: bad input (a missing ID, merging a contact into itself, an
// unknown field in Choose) is a *storage.ValidationError; an unknown ID,
// or one of another workspace, is ErrNotFound; a version given that moved
// on is ErrStale; a principal needs update rights on the survivor and
// every moved record and delete rights on the loser (ErrForbidden), and a
// role hiding contact fields cannot merge. A merged value that fails
// validation (more than MaxListLen phones) is ErrInvalid. Nothing is
// written on error.
func (cs *Contacts) Merge(ctx context.Context, in MergeRequest) (*MergeResult[*Contact], error) {
	s := cs.s
	_, emailsChosen := in.Choose["emails"]
	return merger[Contact, *Contact]{s: s, tbl: s.t.contacts, fields: contactFields,
		custom: func(c *Contact) *map[string]any { return &c.Custom },
		fix: func(ctx context.Context, merged, surv, loser *Contact) error {
			// The primary email not kept stays as a further address.
			if !emailsChosen {
				for _, e := range []string{surv.Email, loser.Email} {
					if e != "" && e != merged.Email && !slices.ContainsFunc(merged.Emails, func(a EmailAddress) bool { return a.Address == e }) {
						merged.Emails = append(merged.Emails, EmailAddress{Address: e})
					}
				}
			}
			merged.Emails = slices.DeleteFunc(slices.Clone(merged.Emails), func(a EmailAddress) bool { return a.Address == merged.Email })
			var ck checker
			cs.normalize(ctx, &ck, merged, surv)
			merged.Custom = s.custom(ctx, &ck, ObjectContact, merged.Custom, nil, false)
			return ck.Err()
		}}.merge(ctx, in)
}

// UndoMerge undoes the merge whose event (contact.merged) is eventID, in
// one transaction: the survivor's fields the merge changed get their
// previous values, the loser is created again under its ID (with its
// creation time, event contact.restored), and every record the merge
// moved is moved back; records it removed are inserted again.
//
// The rule for what happened since: a field the merge changed must still
// hold the merged value, and a moved record must still refer to what the
// merge left it with, else ErrConflict names it and nothing is written;
// other changes to the survivor stay. Moved records deleted since are
// skipped and listed in UndoResult.Gone. Undoing twice is ErrConflict (the
// loser exists); an event that is not a contact merge is ErrInvalid; a
// merge whose snapshot was erased (Erase) is ErrConflict. A principal
// needs update rights on the survivor and the moved records and create
// rights for the loser.
func (cs *Contacts) UndoMerge(ctx context.Context, eventID string) (*UndoResult[*Contact], error) {
	return merger[Contact, *Contact]{s: cs.s, tbl: cs.s.t.contacts}.undo(ctx, eventID)
}

// Merge merges the account in.LoserID into in.SurvivorID, as
// Contacts.Merge does for contacts: the loser's contacts, child accounts,
// activities and, through Options.Movers, the records of other modules
// (leads, deals, quotes, invoices, orders, projects) move to the
// survivor. A survivor whose parent was the loser takes the loser's
// parent. Events: account.merged, account.merged_away.
func (as *Accounts) Merge(ctx context.Context, in MergeRequest) (*MergeResult[*Account], error) {
	s := as.s
	return merger[Account, *Account]{s: s, tbl: s.t.accounts, fields: accountFields,
		custom: func(a *Account) *map[string]any { return &a.Custom },
		fix: func(ctx context.Context, merged, surv, loser *Account) error {
			if merged.ParentID == loser.ID {
				merged.ParentID = loser.ParentID
			}
			if merged.ParentID == surv.ID {
				merged.ParentID = ""
			}
			var ck checker
			as.normalize(ctx, &ck, merged, surv)
			merged.Custom = s.custom(ctx, &ck, ObjectAccount, merged.Custom, nil, false)
			return ck.Err()
		}}.merge(ctx, in)
}

// UndoMerge undoes the account merge whose event (account.merged) is
// eventID; see Contacts.UndoMerge for the rules.
func (as *Accounts) UndoMerge(ctx context.Context, eventID string) (*UndoResult[*Account], error) {
	return merger[Account, *Account]{s: as.s, tbl: as.s.t.accounts}.undo(ctx, eventID)
}

// mergedAway returns the contacts merged into id, directly or through
// other merges, and the records those merges removed: the records whose
// change events hold the person's data besides id's own. It reads the
// merge events as the system, since the caller (Erase, PersonalData) has
// already been allowed to reach id.
func (s *Service) mergedAway(ctx context.Context, id string) ([]string, error) {
	ctx = storage.AsSystem(ctx)
	var out []string
	queue := []string{id}
	seen := map[string]bool{id: true}
	for len(queue) > 0 {
		sub := queue[0]
		queue = queue[1:]
		pq := storage.PageQuery{Limit: storage.MaxLimit}
		for {
			page, err := s.store.History(ctx, sub, pq)
			if err != nil {
				return nil, fmt.Errorf("history of %s: %w", sub, err)
			}
			for _, ev := range page.Items {
				if ev.Type != EventContactMerged {
					continue
				}
				var refs []string
				if c, ok := ev.Change(changeMergedFrom); ok {
					var loser string
					if json.Unmarshal(c.New, &loser) == nil && loser != "" && !seen[loser] {
						refs = append(refs, loser)
						queue = append(queue, loser)
					}
				}
				if c, ok := ev.Change(changeSnapshotMoved); ok {
					var moved []merge.Moved
					if json.Unmarshal(c.New, &moved) == nil {
						for _, m := range moved {
							if m.Removed {
								refs = append(refs, m.Ref.ID)
							}
						}
					}
				}
				for _, r := range refs {
					if !seen[r] {
						seen[r] = true
						out = append(out, r)
					}
				}
			}
			if page.Next == "" {
				break
			}
			pq.Cursor = page.Next
		}
	}
	return out, nil
}
