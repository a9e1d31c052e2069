package storage

import "context"

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

// DepthFrom returns the context's depth (see WithDepth), 0 when it has none.
func DepthFrom(ctx context.Context) int {
	d, _ := ctx.Value(depthKey{}).(int)
	return d
}
