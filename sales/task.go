package sales

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// TaskStatus is where a task stands.
type TaskStatus string

// The task statuses.
const (
	TaskOpen       TaskStatus = "open"
	TaskInProgress TaskStatus = "in_progress"
	TaskDone       TaskStatus = "done"
	TaskCancelled  TaskStatus = "cancelled"
)

// Priority orders tasks.
type Priority string

// The priorities.
const (
	PriorityLow    Priority = "low"
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
	PriorityUrgent Priority = "urgent"
)

// Task is a to-do of a member, linked to any records.
type Task struct {
	storage.Meta
	Title       string `bun:"title,notnull" json:"title"`
	Description string `bun:"description,notnull" json:"description,omitempty"`
	// Due is when the task is due; zero for no due date. With AllDay, only
	// its date counts.
	Due      time.Time  `bun:"due,notnull" json:"due,omitzero"`
	AllDay   bool       `bun:"all_day,notnull" json:"all_day,omitempty"`
	Priority Priority   `bun:"priority,notnull" json:"priority"`
	Status   TaskStatus `bun:"status,notnull" json:"status"`
	// OwnerID is the assignee, a member; record scopes read it as the owner.
	OwnerID    string    `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID     string    `bun:"team_id,notnull" json:"team_id,omitempty"`
	ReminderAt time.Time `bun:"reminder_at,notnull" json:"reminder_at,omitzero"`
	// Related are the records the task is about: contacts, accounts,
	// leads, opportunities, cases, projects.
	Related     []storage.Ref `bun:"related" json:"related,omitempty"`
	ProjectID   string        `bun:"project_id,notnull" json:"project_id,omitempty"`
	CompletedAt time.Time     `bun:"completed_at,notnull" json:"completed_at,omitzero"`
}

// RecordType returns "task".
func (*Task) RecordType() string { return ObjectTask }

// Links returns the related records and the project.
func (t *Task) Links() []storage.Ref {
	out := append([]storage.Ref(nil), t.Related...)
	if t.ProjectID != "" {
		out = append(out, storage.Ref{Type: ObjectProject, ID: t.ProjectID})
	}
	return out
}

// NewTask is the input of Tasks.Create.
type NewTask struct {
	Title, Description string
	Due                time.Time
	AllDay             bool
	Priority           Priority // default normal
	OwnerID, TeamID    string   // OwnerID is the assignee; default the principal
	ReminderAt         time.Time
	Related            []storage.Ref
	ProjectID          string
}

// UpdateTask changes a task; nil fields stay as they are.
type UpdateTask struct {
	Title, Description *string
	Due                *time.Time
	AllDay             *bool
	Priority           *Priority
	Status             *TaskStatus
	OwnerID, TeamID    *string
	ReminderAt         *time.Time
	Related            *[]storage.Ref
}

// Tasks manages tasks.
type Tasks struct{ s *Service }

// Create adds an open task.
func (ts *Tasks) Create(ctx context.Context, in NewTask) (*Task, error) {
	t := &Task{Title: in.Title, Description: in.Description, Due: in.Due, AllDay: in.AllDay, Priority: in.Priority,
		Status: TaskOpen, OwnerID: in.OwnerID, TeamID: in.TeamID, ReminderAt: in.ReminderAt, Related: in.Related, ProjectID: in.ProjectID}
	err := ts.s.store.RunInTx(ctx, func(ctx context.Context) error {
		if err := ts.check(ctx, t, nil); err != nil {
			return err
		}
		return ts.s.t.tasks.Insert(ctx, t)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// exists checks that ref names a record of the workspace the principal
func (ts *Tasks) check(ctx context.Context, t, prev *Task) error {
	var v storage.ValidationError
	storage.TrimText(&v, "title", &t.Title, MaxTextLen)
	t.Description = strings.TrimSpace(t.Description)
	if t.Title == "" {
		v.Add("title", "is required")
	}
	if t.Priority == "" {
		t.Priority = PriorityNormal
	}
	switch t.Priority {
	case PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent:
	default:
		v.Add("priority", "%q is not low, normal, high or urgent", t.Priority)
	}
	switch t.Status {
	case TaskOpen, TaskInProgress, TaskDone, TaskCancelled:
	default:
		v.Add("status", "%q is not open, in_progress, done or cancelled", t.Status)
	}
	if t.AllDay && !t.Due.IsZero() {
		d := t.Due.UTC()
		t.Due = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
	}
	for i, r := range t.Related {
		if prev != nil && containsRef(prev.Related, r) {
			continue
		}
		if err := storage.CheckRef(ctx, &v, fmt.Sprintf("related[%d]", i), ts.s.store, r); err != nil {
			return err
		}
	}
	if t.ProjectID != "" && (prev == nil || prev.ProjectID != t.ProjectID) {
		if _, err := ts.s.t.projects.Get(ctx, t.ProjectID); errors.Is(err, storage.ErrNotFound) {
			v.Add("project_id", "does not exist in the workspace")
		} else if err != nil {
			return err
		}
	}
	return v.Err()
}

func containsRef(refs []storage.Ref, r storage.Ref) bool {
	for _, x := range refs {
		if x == r {
			return true
		}
	}
	return false
}

// Get returns the task with id.
func (ts *Tasks) Get(ctx context.Context, id string) (*Task, error) {
	return ts.s.t.tasks.Get(ctx, id)
}

// List returns a page of tasks.
func (ts *Tasks) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Task], error) {
	return ts.s.t.tasks.List(ctx, q)
}

// Update changes a task. Setting the status to done records CompletedAt
// and the event task.completed.
func (ts *Tasks) Update(ctx context.Context, id string, in UpdateTask) (*Task, error) {
	event := ""
	return storage.Modify(ctx, ts.s.store, ts.s.t.tasks, id, 0, func(ctx context.Context, t *Task) error {
		prev := *t
		storage.Set(&t.Title, in.Title)
		storage.Set(&t.Description, in.Description)
		storage.Set(&t.Due, in.Due)
		storage.Set(&t.AllDay, in.AllDay)
		storage.Set(&t.Priority, in.Priority)
		storage.Set(&t.Status, in.Status)
		storage.Set(&t.OwnerID, in.OwnerID)
		storage.Set(&t.TeamID, in.TeamID)
		storage.Set(&t.ReminderAt, in.ReminderAt)
		storage.Set(&t.Related, in.Related)
		if t.Status != prev.Status {
			if t.Status == TaskDone {
				t.CompletedAt, event = storage.Now(), "task.completed"
			} else {
				t.CompletedAt = time.Time{}
			}
		}
		return ts.check(ctx, t, &prev)
	}, func(o *storage.WriteOptions) {
		if event != "" {
			o.EventType = event
		}
	})
}

// Complete marks a task done (event task.completed).
func (ts *Tasks) Complete(ctx context.Context, id string) (*Task, error) {
	done := TaskDone
	return ts.Update(ctx, id, UpdateTask{Status: &done})
}

// Delete removes a task.
func (ts *Tasks) Delete(ctx context.Context, id string) error {
	return storage.Remove(ctx, ts.s.store, ts.s.t.tasks, id, 0, nil)
}

// openFilter matches tasks not done or cancelled.
var openFilter = storage.Cmp{Field: "status", Op: storage.OpIn, Value: []string{string(TaskOpen), string(TaskInProgress)}}

// Open returns a page of member's open tasks, soonest due first (tasks
// without a due date last).
func (ts *Tasks) Open(ctx context.Context, memberID string, pq storage.PageQuery) (storage.Page[*Task], error) {
	return ts.s.t.tasks.List(ctx, storage.ListQuery{Filter: storage.And{openFilter, storage.Eq("owner_id", memberID)},
		Sort: []storage.Sort{{Field: "due"}}, PageQuery: pq})
}

// Overdue returns a page of open tasks due before now, of every member
// the principal can see; memberID, when set, narrows it to one.
func (ts *Tasks) Overdue(ctx context.Context, memberID string, now time.Time, pq storage.PageQuery) (storage.Page[*Task], error) {
	f := storage.And{openFilter, storage.Cmp{Field: "due", Op: storage.OpGt, Value: time.Time{}}, storage.Cmp{Field: "due", Op: storage.OpLt, Value: now}}
	if memberID != "" {
		f = append(f, storage.Eq("owner_id", memberID))
	}
	return ts.s.t.tasks.List(ctx, storage.ListQuery{Filter: f, Sort: []storage.Sort{{Field: "due"}}, PageQuery: pq})
}

// DueIn returns a page of open tasks due in period (such as this week:
// Period{From: monday, To: monday + 7 days}); memberID, when set, narrows
// it to one member.
func (ts *Tasks) DueIn(ctx context.Context, memberID string, p Period, pq storage.PageQuery) (storage.Page[*Task], error) {
	f := storage.And{openFilter, storage.Cmp{Field: "due", Op: storage.OpGe, Value: p.From}, storage.Cmp{Field: "due", Op: storage.OpLt, Value: p.To}}
	if memberID != "" {
		f = append(f, storage.Eq("owner_id", memberID))
	}
	return ts.s.t.tasks.List(ctx, storage.ListQuery{Filter: f, Sort: []storage.Sort{{Field: "due"}}, PageQuery: pq})
}

// maxFeedItems bounds one calendar feed.
const maxFeedItems = 5000

// Calendar writes member's iCalendar feed (RFC 5545, through
// github.com/emersion/go-ical) for period: their meetings (activities of
// kind meeting they own, with their duration, 30 minutes when unset) and
// their open tasks with a due date (a timed task as a 30-minute event, an
// all-day task as a date). Calendar clients subscribe to it as to any ICS
// feed; each item keeps its UID across reads.
func (ts *Tasks) Calendar(ctx context.Context, w io.Writer, memberID string, p Period) error {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, "-//crmkit//crm//EN")
	cal.Props.SetText("X-WR-CALNAME", "CRM")
	ws := storage.WorkspaceFrom(ctx)
	n := 0
	add := func(uid, summary, desc string, start, end time.Time, allDay bool, stamp time.Time) {
		ev := ical.NewEvent()
		ev.Props.SetText(ical.PropUID, uid+"@"+ws+".crm")
		ev.Props.SetDateTime(ical.PropDateTimeStamp, stamp.UTC())
		if allDay {
			ev.Props.SetDate(ical.PropDateTimeStart, start)
			ev.Props.SetDate(ical.PropDateTimeEnd, start.AddDate(0, 0, 1))
		} else {
			ev.Props.SetDateTime(ical.PropDateTimeStart, start.UTC())
			ev.Props.SetDateTime(ical.PropDateTimeEnd, end.UTC())
		}
		ev.Props.SetText(ical.PropSummary, summary)
		if desc != "" {
			ev.Props.SetText(ical.PropDescription, desc)
		}
		cal.Children = append(cal.Children, ev.Component)
		n++
	}
	// Meetings.
	q := storage.ListQuery{Filter: storage.And{storage.Eq("kind", string(contacts.KindMeeting)), storage.Eq("owner_id", memberID),
		storage.Cmp{Field: "occurred_at", Op: storage.OpGe, Value: p.From}, storage.Cmp{Field: "occurred_at", Op: storage.OpLt, Value: p.To}},
		PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}
	for n < maxFeedItems {
		page, err := ts.s.people.Activities.List(ctx, q)
		if err != nil {
			return err
		}
		for _, a := range page.Items {
			d := a.Duration
			if d <= 0 {
				d = 30 * time.Minute
			}
			add(a.ID, a.Subject, a.Body, a.OccurredAt, a.OccurredAt.Add(d), false, a.UpdatedAt)
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	// Tasks with a due date.
	pq := storage.PageQuery{Limit: storage.MaxLimit}
	for n < maxFeedItems {
		page, err := ts.DueIn(ctx, memberID, p, pq)
		if err != nil {
			return err
		}
		for _, t := range page.Items {
			add(t.ID, t.Title, t.Description, t.Due, t.Due.Add(30*time.Minute), t.AllDay, t.UpdatedAt)
		}
		if page.Next == "" {
			break
		}
		pq.Cursor = page.Next
	}
	if len(cal.Children) == 0 {
		// RFC 5545 wants one component; an empty feed carries a journal
		// entry, which calendar clients do not show.
		j := ical.NewComponent(ical.CompJournal)
		j.Props.SetText(ical.PropUID, "empty@"+ws+".crm")
		j.Props.SetDateTime(ical.PropDateTimeStamp, p.From.UTC())
		cal.Children = append(cal.Children, j)
	}
	return ical.NewEncoder(w).Encode(cal)
}
