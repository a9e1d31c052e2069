package contacts

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/crmkit/crm/storage"
)

// ActivityKind is what sort of interaction an activity records.
type ActivityKind string

// The activity kinds.
const (
	KindCall    ActivityKind = "call"
	KindEmail   ActivityKind = "email"
	KindMeeting ActivityKind = "meeting"
	KindNote    ActivityKind = "note"
)

// Direction says who started a call or email.
type Direction string

// The directions; notes and meetings usually have none.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// Participant is a person who took part in an activity.
type Participant struct {
	Name      string `json:"name,omitempty"`
	Email     string `json:"email,omitempty"`
	ContactID string `json:"contact_id,omitempty"` // set when the person is a contact
}

// Activity is one interaction with contacts or accounts: a call, an email, a
// meeting or a note. Together they are the communication history shown on
// timelines.
type Activity struct {
	storage.Meta
	Kind      ActivityKind `bun:"kind,notnull" json:"kind"`
	Subject   string       `bun:"subject,notnull" json:"subject"`
	Body      string       `bun:"body,notnull" json:"body,omitempty"`
	Direction Direction    `bun:"direction,notnull" json:"direction,omitempty"`
	// OccurredAt is when the interaction happened (a meeting's start).
	OccurredAt time.Time `bun:"occurred_at,notnull" json:"occurred_at"`
	// Duration is how long a call or meeting lasted.
	Duration time.Duration `bun:"duration,notnull" json:"duration,omitempty"`
	// Outcome records how it went, such as "connected" or "left voicemail".
	Outcome      string        `bun:"outcome,notnull" json:"outcome,omitempty"`
	Participants []Participant `bun:"participants" json:"participants,omitempty"`
	// ContactIDs are the contacts the activity is about; it shows on each
	// one's timeline.
	ContactIDs []string `bun:"contact_ids" json:"contact_ids,omitempty"`
	// AccountID is the account the activity is about; when empty on create it
	// is taken from the first contact's account.
	AccountID string `bun:"account_id,nullzero" json:"account_id,omitempty"`
	// Related are further records the activity concerns, such as an
	// opportunity or a case.
	Related []storage.Ref `bun:"related" json:"related,omitempty"`
	OwnerID string        `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	// TeamID is the team the activity belongs to, or "".
	TeamID string `bun:"team_id,notnull" json:"team_id,omitempty"`
}

// RecordType returns "activity".
func (*Activity) RecordType() string { return ObjectActivity }

// Links returns the contacts, the account and the related records.
func (a *Activity) Links() []storage.Ref {
	out := make([]storage.Ref, 0, len(a.ContactIDs)+1+len(a.Related))
	for _, id := range a.ContactIDs {
		out = append(out, storage.Ref{Type: ObjectContact, ID: id})
	}
	if a.AccountID != "" {
		out = append(out, storage.Ref{Type: ObjectAccount, ID: a.AccountID})
	}
	return append(out, a.Related...)
}

// NewActivity is the input of Activities.Log.
type NewActivity struct {
	Kind         ActivityKind
	Subject      string
	Body         string
	Direction    Direction
	OccurredAt   time.Time // zero means now
	Duration     time.Duration
	Outcome      string
	Participants []Participant
	ContactIDs   []string
	AccountID    string
	Related      []storage.Ref
	OwnerID      string
	TeamID       string
}

// UpdateActivity changes an activity; nil fields stay as they are.
type UpdateActivity struct {
	Version      int64 // when not 0, the update fails with ErrStale unless the activity is at this version
	Subject      *string
	Body         *string
	Direction    *Direction
	OccurredAt   *time.Time
	Duration     *time.Duration
	Outcome      *string
	Participants *[]Participant
	ContactIDs   *[]string
	AccountID    *string
	Related      *[]storage.Ref
	OwnerID      *string
	TeamID       *string
}

// Activities manages the communication history.
type Activities struct{ s *Service }

// Log records an activity. Every contact and the account must exist in the
// workspace.
func (as *Activities) Log(ctx context.Context, in NewActivity) (*Activity, error) {
	a := &Activity{Kind: in.Kind, Subject: in.Subject, Body: in.Body, Direction: in.Direction,
		OccurredAt: in.OccurredAt, Duration: in.Duration, Outcome: in.Outcome, Participants: in.Participants,
		ContactIDs: in.ContactIDs, AccountID: in.AccountID, Related: in.Related, OwnerID: in.OwnerID, TeamID: in.TeamID}
	if a.OccurredAt.IsZero() {
		a.OccurredAt = storage.Now()
	}
	err := as.s.store.RunInTx(ctx, func(ctx context.Context) error {
		var ck checker
		as.normalize(ctx, &ck, a, nil)
		if err := ck.Err(); err != nil {
			return err
		}
		return as.s.t.activities.Insert(ctx, a)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (as *Activities) normalize(ctx context.Context, ck *checker, a, prev *Activity) {
	ck.oneOf("kind", string(a.Kind), false, string(KindCall), string(KindEmail), string(KindMeeting), string(KindNote))
	ck.text("subject", &a.Subject, MaxNameLen)
	ck.text("body", &a.Body, MaxTextLen)
	if a.Subject == "" && a.Body == "" {
		ck.Add("subject", "an activity needs a subject or a body")
	}
	ck.oneOf("direction", string(a.Direction), true, string(Inbound), string(Outbound))
	a.OccurredAt = storage.Truncate(a.OccurredAt)
	if a.Duration < 0 {
		ck.Add("duration", "must not be negative")
	}
	ck.text("outcome", &a.Outcome, MaxNameLen)
	ck.text("owner_id", &a.OwnerID, MaxNameLen)
	ck.text("team_id", &a.TeamID, MaxNameLen)
	if ck.listLen("participants", len(a.Participants)) {
		for i, p := range a.Participants {
			f := fmt.Sprintf("participants[%d].", i)
			ck.text(f+"name", &p.Name, MaxNameLen)
			ck.email(f+"email", &p.Email, false)
			ck.id(f+"contact_id", p.ContactID)
			a.Participants[i] = p
		}
	}
	if len(a.Participants) == 0 {
		a.Participants = nil
	}
	a.ContactIDs = dedupe(a.ContactIDs)
	if ck.listLen("contact_ids", len(a.ContactIDs)) {
		for i, id := range a.ContactIDs {
			ck.id(fmt.Sprintf("contact_ids[%d]", i), id)
		}
	}
	ck.id("account_id", a.AccountID)
	if ck.listLen("related", len(a.Related)) {
		for i, r := range a.Related {
			if r.Type == "" || !storage.ValidID(r.ID) {
				ck.Add(fmt.Sprintf("related[%d]", i), "needs a record type and a record ID")
			}
		}
	}
	if len(a.Related) == 0 {
		a.Related = nil
	}
	if len(ck.Fields) > 0 {
		return
	}
	for i, id := range a.ContactIDs {
		if prev != nil && contains(prev.ContactIDs, id) {
			continue
		}
		c, err := as.s.t.contacts.Get(ctx, id)
		if err != nil {
			checkExists(ctx, ck, fmt.Sprintf("contact_ids[%d]", i), as.s.t.contacts, id)
			continue
		}
		if prev == nil && a.AccountID == "" && c.AccountID != "" {
			a.AccountID = c.AccountID
		}
	}
	if a.AccountID != "" && (prev == nil || prev.AccountID != a.AccountID) {
		checkExists(ctx, ck, "account_id", as.s.t.accounts, a.AccountID)
	}
	// Related records: of a registered type, in the workspace, readable.
	for i, r := range a.Related {
		if prev != nil && slices.Contains(prev.Related, r) {
			continue
		}
		if err := storage.CheckRef(ctx, &ck.ValidationError, fmt.Sprintf("related[%d]", i), as.s.store, r); err != nil {
			ck.fail(err)
		}
	}
}

func dedupe(ids []string) []string {
	var out []string
	for _, id := range ids {
		if !contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// Get returns the activity with id, or ErrNotFound.
func (as *Activities) Get(ctx context.Context, id string) (*Activity, error) {
	return as.s.t.activities.Get(ctx, id)
}

// Update applies in to the activity with id and returns the new state.
func (as *Activities) Update(ctx context.Context, id string, in UpdateActivity) (*Activity, error) {
	return storage.Modify(ctx, as.s.store, as.s.t.activities, id, in.Version, func(ctx context.Context, a *Activity) error {
		prev := *a
		storage.Set(&a.Subject, in.Subject)
		storage.Set(&a.Body, in.Body)
		storage.Set(&a.Direction, in.Direction)
		storage.Set(&a.OccurredAt, in.OccurredAt)
		storage.Set(&a.Duration, in.Duration)
		storage.Set(&a.Outcome, in.Outcome)
		if in.Participants != nil {
			a.Participants = append([]Participant(nil), *in.Participants...)
		}
		storage.Set(&a.ContactIDs, in.ContactIDs)
		storage.Set(&a.AccountID, in.AccountID)
		storage.Set(&a.Related, in.Related)
		storage.Set(&a.OwnerID, in.OwnerID)
		storage.Set(&a.TeamID, in.TeamID)
		var ck checker
		as.normalize(ctx, &ck, a, &prev)
		return ck.Err()
	})
}

// Delete removes the activity with id.
func (as *Activities) Delete(ctx context.Context, id string) error {
	return storage.Remove(ctx, as.s.store, as.s.t.activities, id, 0, nil)
}

// List returns one page of activities; filter on kind, direction,
// occurred_at, owner_id, account_id and the other columns.
func (as *Activities) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Activity], error) {
	return as.s.t.activities.List(ctx, q)
}
