package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/crmkit/crm/service/bizhours"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// Calendar is a workspace's business-time calendar, stored: the working
// time its SLA policies count in (see package bizhours for the rules of
// intervals, overnight shifts, holidays and overrides).
type Calendar struct {
	storage.Meta
	Name string `bun:"name,notnull" json:"name"`
	// TimeZone is the IANA zone of the working intervals ("Europe/Paris").
	TimeZone  string              `bun:"time_zone,notnull" json:"time_zone"`
	Week      bizhours.Week       `bun:"week" json:"week"`
	Holidays  []bizhours.Date     `bun:"holidays" json:"holidays,omitempty"`
	Overrides []bizhours.Override `bun:"overrides" json:"overrides,omitempty"`
	// TeamID makes this the calendar of a team (one per team): the SLA
	// clocks of the team's cases count in it rather than their policy's
	// calendar, and assignment reads it as the team's working hours.
	TeamID string `bun:"team_id,notnull" json:"team_id,omitempty"`
}

// RecordType returns "service_calendar".
func (*Calendar) RecordType() string { return ObjectCalendar }

// NewCalendar is the input of Calendars.Create.
type NewCalendar struct {
	Name      string
	TimeZone  string
	Week      bizhours.Week
	Holidays  []bizhours.Date
	Overrides []bizhours.Override
	// TeamID makes it a team's calendar (Calendar.TeamID).
	TeamID string
}

// Calendars stores business-time calendars and compiles them.
type Calendars struct {
	s *Service
	// compiled caches schedules by calendar ID and version.
	compiled sync.Map
}

// Create adds a calendar; a calendar that does not compile (bad zone,
// overlapping intervals…) is ErrInvalid naming the field.
func (cl *Calendars) Create(ctx context.Context, in NewCalendar) (*Calendar, error) {
	c := &Calendar{Name: in.Name, TimeZone: in.TimeZone, Week: in.Week, Holidays: in.Holidays, Overrides: in.Overrides, TeamID: in.TeamID}
	if err := cl.check(ctx, c); err != nil {
		return nil, err
	}
	if err := cl.s.t.calendars.Insert(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// check validates c, its team included (a team that exists; taken by
// another calendar is a conflict the unique index reports).
func (cl *Calendars) check(ctx context.Context, c *Calendar) error {
	_, err := check(c)
	var v storage.ValidationError
	var bad *storage.ValidationError
	if errors.As(err, &bad) || err == nil {
		if bad != nil {
			v.Merge("", bad)
		}
		c.TeamID = strings.TrimSpace(c.TeamID)
		if c.TeamID != "" {
			if err := storage.CheckRef(ctx, &v, "team_id", cl.s.store, storage.Ref{Type: access.ObjectTeam, ID: c.TeamID}); err != nil {
				return err
			}
		}
		return v.Err()
	}
	return err
}

// ofTeam returns the ID of the calendar of team teamID, or "".
func (cl *Calendars) ofTeam(ctx context.Context, teamID string) (string, error) {
	page, err := cl.s.t.calendars.List(ctx, storage.ListQuery{Filter: storage.Eq("team_id", teamID), PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil || len(page.Items) == 0 {
		return "", err
	}
	return page.Items[0].ID, nil
}

// check validates c and returns its schedule.
func check(c *Calendar) (*bizhours.Schedule, error) {
	var v storage.ValidationError
	storage.TrimText(&v, "name", &c.Name, MaxTextLen)
	if c.Name == "" {
		v.Add("name", "is required")
	}
	c.TimeZone = strings.TrimSpace(c.TimeZone)
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil || c.TimeZone == "" || c.TimeZone == "Local" {
		v.Add("time_zone", "%q is not an IANA time zone", c.TimeZone)
		return nil, v.Err()
	}
	sched, err := (&bizhours.Calendar{Location: loc, Week: c.Week, Holidays: c.Holidays, Overrides: c.Overrides}).Compile()
	var bad *storage.ValidationError
	if errors.As(err, &bad) {
		v.Merge("", bad)
	} else if err != nil {
		return nil, err
	}
	return sched, v.Err()
}

// Get returns the calendar with id.
func (cl *Calendars) Get(ctx context.Context, id string) (*Calendar, error) {
	return cl.s.t.calendars.Get(ctx, id)
}

// List returns a page of calendars.
func (cl *Calendars) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Calendar], error) {
	return cl.s.t.calendars.List(ctx, q)
}

// Update replaces a calendar's definition. Cases whose SLA counts in it
// keep the due times computed so far; the next change of each recomputes
// them.
func (cl *Calendars) Update(ctx context.Context, id string, in NewCalendar) (*Calendar, error) {
	return storage.Modify(ctx, cl.s.store, cl.s.t.calendars, id, 0, func(ctx context.Context, c *Calendar) error {
		c.Name, c.TimeZone, c.Week, c.Holidays, c.Overrides, c.TeamID = in.Name, in.TimeZone, in.Week, in.Holidays, in.Overrides, in.TeamID
		return cl.check(ctx, c)
	})
}

// Schedule returns the compiled schedule of the calendar id, compiled once
// per version of the calendar.
func (cl *Calendars) Schedule(ctx context.Context, id string) (*bizhours.Schedule, error) {
	c, err := cl.s.t.calendars.Get(storage.AsSystem(ctx), id)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%s/%s/%d", storage.WorkspaceFrom(ctx), c.ID, c.Version)
	if s, ok := cl.compiled.Load(key); ok {
		return s.(*bizhours.Schedule), nil
	}
	s, err := check(c)
	if err != nil {
		return nil, err
	}
	cl.compiled.Store(key, s)
	return s, nil
}
