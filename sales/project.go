package sales

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmkit/crm/storage"
)

// ProjectStatus is where a project stands.
type ProjectStatus string

// The project statuses.
const (
	ProjectPlanned   ProjectStatus = "planned"
	ProjectActive    ProjectStatus = "active"
	ProjectOnHold    ProjectStatus = "on_hold"
	ProjectDone      ProjectStatus = "done"
	ProjectCancelled ProjectStatus = "cancelled"
)

// Milestone is a dated goal of a project.
type Milestone struct {
	Name string    `json:"name"`
	Due  time.Time `json:"due,omitzero"`
	Done bool      `json:"done,omitempty"`
}

// Project is the delivery of a won deal (or any piece of work).
type Project struct {
	storage.Meta
	Name          string        `bun:"name,notnull" json:"name"`
	Description   string        `bun:"description,notnull" json:"description,omitempty"`
	AccountID     string        `bun:"account_id,notnull" json:"account_id,omitempty"`
	OpportunityID string        `bun:"opportunity_id,notnull" json:"opportunity_id,omitempty"`
	Status        ProjectStatus `bun:"status,notnull" json:"status"`
	Start         time.Time     `bun:"start_date,notnull" json:"start,omitzero"`
	End           time.Time     `bun:"end_date,notnull" json:"end,omitzero"`
	Milestones    []Milestone   `bun:"milestones" json:"milestones,omitempty"`
	OwnerID       string        `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID        string        `bun:"team_id,notnull" json:"team_id,omitempty"`
}

// RecordType returns "project".
func (*Project) RecordType() string { return ObjectProject }

// Links returns the account and the deal of the project.
func (p *Project) Links() []storage.Ref { return docLinks(p.OpportunityID, p.AccountID, "") }

// NewProject is the input of Projects.Create.
type NewProject struct {
	Name, Description        string
	AccountID, OpportunityID string
	Status                   ProjectStatus // default planned
	Start, End               time.Time
	Milestones               []Milestone
	OwnerID, TeamID          string
}

// Projects manages projects.
type Projects struct{ s *Service }

// Create adds a project. One opportunity has at most one project
// (ErrConflict).
func (ps *Projects) Create(ctx context.Context, in NewProject) (*Project, error) {
	p := &Project{Name: in.Name, Description: strings.TrimSpace(in.Description), AccountID: in.AccountID, OpportunityID: in.OpportunityID,
		Status: in.Status, Start: in.Start, End: in.End, Milestones: in.Milestones, OwnerID: in.OwnerID, TeamID: in.TeamID}
	if p.Status == "" {
		p.Status = ProjectPlanned
	}
	err := ps.s.store.RunInTx(ctx, func(ctx context.Context) error {
		var v storage.ValidationError
		storage.TrimText(&v, "name", &p.Name, MaxTextLen)
		if p.Name == "" {
			v.Add("name", "is required")
		}
		checkProjectFields(&v, p)
		if p.AccountID != "" {
			if err := exists(ctx, &v, "account_id", func(ctx context.Context) error { _, err := ps.s.people.Accounts.Get(ctx, p.AccountID); return err }); err != nil {
				return err
			}
		}
		if p.OpportunityID != "" {
			if err := exists(ctx, &v, "opportunity_id", func(ctx context.Context) error {
				_, err := ps.s.t.opps.Get(ctx, p.OpportunityID)
				return err
			}); err != nil {
				return err
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		err := ps.s.t.projects.Insert(ctx, p)
		if errors.Is(err, storage.ErrConflict) {
			return fmt.Errorf("%w: opportunity %s has a project already", storage.ErrConflict, p.OpportunityID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func checkProjectFields(v *storage.ValidationError, p *Project) {
	switch p.Status {
	case ProjectPlanned, ProjectActive, ProjectOnHold, ProjectDone, ProjectCancelled:
	default:
		v.Add("status", "%q is not planned, active, on_hold, done or cancelled", p.Status)
	}
	if !p.Start.IsZero() && !p.End.IsZero() && p.End.Before(p.Start) {
		v.Add("end", "is before the start")
	}
	for i := range p.Milestones {
		m := &p.Milestones[i]
		m.Name = strings.TrimSpace(m.Name)
		if m.Name == "" {
			v.Add(fmt.Sprintf("milestones[%d].name", i), "is required")
		}
	}
}

// FromOpportunity makes the project of a won opportunity: its name, account
// and owner unless in sets them, starting today. An opportunity that is not
// won is ErrConflict, and so is one with a project already.
func (ps *Projects) FromOpportunity(ctx context.Context, opportunityID string, in NewProject) (*Project, error) {
	var out *Project
	err := ps.s.store.RunInTx(ctx, func(ctx context.Context) error {
		o, err := ps.s.t.opps.Get(ctx, opportunityID)
		if err != nil {
			return err
		}
		p, err := ps.s.t.pipelines.Get(ctx, o.PipelineID)
		if err != nil {
			return err
		}
		if st, _ := p.Stage(o.Stage); st.Kind != StageWon {
			return fmt.Errorf("%w: opportunity %s is not won", storage.ErrConflict, o.ID)
		}
		in.OpportunityID = o.ID
		in.Name = or(in.Name, o.Name)
		in.AccountID = or(in.AccountID, o.AccountID)
		in.OwnerID, in.TeamID = or(in.OwnerID, o.OwnerID), or(in.TeamID, o.TeamID)
		if in.Start.IsZero() {
			now := storage.Now().UTC()
			in.Start = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		}
		out, err = ps.Create(ctx, in)
		return err
	})
	return out, err
}

// Get returns the project with id.
func (ps *Projects) Get(ctx context.Context, id string) (*Project, error) {
	return ps.s.t.projects.Get(ctx, id)
}

// List returns a page of projects.
func (ps *Projects) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Project], error) {
	return ps.s.t.projects.List(ctx, q)
}

// UpdateProject changes a project; nil fields stay as they are.
type UpdateProject struct {
	Name, Description *string
	Status            *ProjectStatus
	Start, End        *time.Time
	Milestones        *[]Milestone
	OwnerID, TeamID   *string
}

// Update changes a project.
func (ps *Projects) Update(ctx context.Context, id string, in UpdateProject) (*Project, error) {
	return storage.Modify(ctx, ps.s.store, ps.s.t.projects, id, 0, func(ctx context.Context, p *Project) error {
		storage.Set(&p.Name, in.Name)
		storage.Set(&p.Description, in.Description)
		storage.Set(&p.Status, in.Status)
		storage.Set(&p.Start, in.Start)
		storage.Set(&p.End, in.End)
		storage.Set(&p.Milestones, in.Milestones)
		storage.Set(&p.OwnerID, in.OwnerID)
		storage.Set(&p.TeamID, in.TeamID)
		var v storage.ValidationError
		storage.TrimText(&v, "name", &p.Name, MaxTextLen)
		if p.Name == "" {
			v.Add("name", "is required")
		}
		checkProjectFields(&v, p)
		return v.Err()
	})
}

// Progress is how far a project's tasks are.
type Progress struct {
	Tasks, Done int64
	// Percent is Done / Tasks in whole percent, rounded down; 0 without
	// tasks. Cancelled tasks do not count.
	Percent int
}

// Progress counts the project's tasks and those done.
func (ps *Projects) Progress(ctx context.Context, id string) (Progress, error) {
	if _, err := ps.Get(ctx, id); err != nil {
		return Progress{}, err
	}
	var pr Progress
	var err error
	base := storage.And{storage.Eq("project_id", id), storage.Cmp{Field: "status", Op: storage.OpNe, Value: string(TaskCancelled)}}
	if pr.Tasks, err = ps.s.t.tasks.Count(ctx, base); err != nil {
		return pr, err
	}
	if pr.Done, err = ps.s.t.tasks.Count(ctx, storage.And{base, storage.Eq("status", string(TaskDone))}); err != nil {
		return pr, err
	}
	if pr.Tasks > 0 {
		pr.Percent = int(pr.Done * 100 / pr.Tasks)
	}
	return pr, nil
}
