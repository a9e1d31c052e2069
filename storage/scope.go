package storage

import (
	"context"
	"time"
)

// DefaultWorkspace is the workspace of a context that names none. An
// application with a single tenant never has to set one.
const DefaultWorkspace = "default"

// SystemActor is the actor recorded for writes whose context names none, and
// for the library's own writes (workflow actions, imports).
const SystemActor = "system"

type workspaceKey struct{}
type actorKey struct{}
type depthKey struct{}

// WithWorkspace returns a context whose calls act inside workspace id. Every
// read and write of the store is confined to that workspace: a record of
// another workspace is ErrNotFound.
func WithWorkspace(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, workspaceKey{}, id)
}

// WorkspaceFrom returns the context's workspace, or DefaultWorkspace when it
// names none.
func WorkspaceFrom(ctx context.Context) string {
	if id, ok := ctx.Value(workspaceKey{}).(string); ok && id != "" {
		return id
	}
	return DefaultWorkspace
}

// HasWorkspace reports whether ctx names a workspace (WithWorkspace with an
// ID that is not empty), rather than falling back to DefaultWorkspace.
func HasWorkspace(ctx context.Context) bool {
	id, ok := ctx.Value(workspaceKey{}).(string)
	return ok && id != ""
}

// WithActor returns a context whose writes are recorded as made by actor (a
// user ID of the host application).
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the context's actor: the principal's member ID (see
// WithPrincipal), else the actor of WithActor, else SystemActor.
func ActorFrom(ctx context.Context) string {
	if p := PrincipalFrom(ctx); p != nil && p.MemberID != "" {
		return p.MemberID
	}
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return SystemActor
}

// WithDepth returns a context whose writes record depth in their change
// events (Event.Depth): the workflow engine runs the actions of a rule set
// off by an event of depth n with depth n+1.
func WithDepth(ctx context.Context, depth int) context.Context {
	return context.WithValue(ctx, depthKey{}, depth)
}

// WithWriteTime returns a context whose writes are stamped at t (Meta's
// created and updated times, the change event's time) instead of the
// moment they are made: a service that stamps a record's own times before
// writing it (a deal created in a closed stage gets its closed time) makes
// them one instant. Only the writes made with the returned context are.
func WithWriteTime(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, writeTimeKey{}, Truncate(t))
}

// WriteTimeFrom returns the time writes made with ctx are stamped at: the
// one of WithWriteTime, else Now.
func WriteTimeFrom(ctx context.Context) time.Time {
	if t, ok := ctx.Value(writeTimeKey{}).(time.Time); ok {
		return t
	}
	return Now()
}

type writeTimeKey struct{}

// DepthFrom returns the context's depth (see WithDepth), 0 when it has none.
func DepthFrom(ctx context.Context) int {
	d, _ := ctx.Value(depthKey{}).(int)
	return d
}

type exportKey struct{}

// ForExport returns ctx for a bulk read that leaves the CRM, such as a
// person's access document (crm.CRM.PersonalData): every list made with
// it whose ListQuery names no For takes the principal's export scope
// (ActionExport) rather than its read scope, so that the read carries no
// more than the member may export; a record type the member may not export
// at all is ErrForbidden. Configuration types (AccessConfig: field
// definitions, pipelines, calendars) are read as usual, being no one's
// data.
func ForExport(ctx context.Context) context.Context {
	return context.WithValue(ctx, exportKey{}, true)
}

// ExportingFrom reports whether ctx was made by ForExport.
func ExportingFrom(ctx context.Context) bool {
	v, _ := ctx.Value(exportKey{}).(bool)
	return v
}
