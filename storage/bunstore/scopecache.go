package bunstore

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/storage/internal/ctxmemo"
)

// A principal's scope sets (scopeSets in scope.go) are read once per
// principal context. A context made by access.Service.As reads none when a
// context of the same member, with the same teams, in the same workspace
// read them before and nothing they depend on has changed since: the
// store keeps them, with the workspace's scope version.
//
// The scope version is a row of crm_sequences (scopeSeq) per workspace.
// Every transaction that writes a share, or changes the teams of a member
// (the links member → team), moves it on just before it commits, so that
// a snapshot that sees version v sees exactly the shares and memberships
// of the transactions that moved it to v or before (they wait on each
// other for the row). ReadMember reads the member and the version in one
// statement, As's one round trip; sets read for a context whose making saw
// version v are kept under v (they are as of v or later, which a context
// made at v may see), and serve the next context that sees v. A context
// made after a change sees a later version, so it never gets sets from
// before the change.
//
// What a transaction reads after it has written (its own changes, not yet
// committed, and the version not yet moved) is neither taken from nor kept
// in the cache.

// scopeSeq names the scope version in crm_sequences. It is not a valid
// storage.Sequencer name, so no caller's numbers share its row.
const scopeSeq = "crm.scopes"

// Bounds of the cache: the IDs its sets hold, about 50 bytes each, and the
// sets it holds. A larger set than maxCachedScopeSet is never kept.
const (
	maxCachedScopeIDs  = 1 << 18
	maxCachedScopeSets = 1 << 14
	maxCachedScopeSet  = maxCachedScopeIDs / 8
)

// scopeEntry is what a principal context keeps for one store and
// workspace: the principal's sets once read, and the scope version As saw
// when it made the context (-1 when the context was not made by As: its
// sets are then not kept in the cache).
type scopeEntry struct {
	mu      sync.Mutex
	version int64
	key     scopeCacheKey
	sets    *scopeSets
}

// get returns the entry's sets, read at the first call (concurrent first
// calls wait for one read) and kept in the store's cache under the
// entry's version.
func (e *scopeEntry) get(ctx context.Context, s *Store, p *storage.Principal, ws string) (*scopeSets, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sets != nil {
		return e.sets, nil
	}
	sets, err := s.readScopeSets(ctx, p, ws)
	if err != nil {
		return nil, err
	}
	e.sets = sets
	if e.version >= 0 {
		s.scopes.put(e.key, e.version, sets)
	}
	return sets, nil
}

// scopeCacheKey is what a principal's sets depend on besides the data:
// the workspace, the member and its teams (sorted, joined by NUL).
type scopeCacheKey struct {
	ws, member, teams string
}

func newScopeCacheKey(ws string, p *storage.Principal) scopeCacheKey {
	teams := slices.Clone(p.TeamIDs)
	slices.Sort(teams)
	return scopeCacheKey{ws: ws, member: p.MemberID, teams: strings.Join(teams, "\x00")}
}

// scopeCache holds principals' sets between principal contexts, each with
// the scope version it is valid for.
type scopeCache struct {
	mu  sync.Mutex
	m   map[scopeCacheKey]cachedScope
	ids int // IDs held by the sets in m
}

type cachedScope struct {
	version int64
	sets    *scopeSets
}

// size is how many IDs sets holds.
func (sets *scopeSets) size() int {
	n := len(sets.members)
	for _, ids := range sets.read {
		n += len(ids)
	}
	for _, ids := range sets.edit {
		n += len(ids)
	}
	return n
}

// get returns the sets kept for k at version, or nil.
func (c *scopeCache) get(k scopeCacheKey, version int64) *scopeSets {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok && e.version == version {
		return e.sets
	}
	return nil
}

// put keeps sets for k at version, unless sets for a later version are
// kept already; when the cache is full, arbitrary entries leave it.
func (c *scopeCache) put(k scopeCacheKey, version int64, sets *scopeSets) {
	n := sets.size()
	if n > maxCachedScopeSet {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[k]; ok {
		if old.version > version {
			return
		}
		c.ids -= old.sets.size()
		delete(c.m, k)
	}
	for ok := range c.m {
		if c.ids+n <= maxCachedScopeIDs && len(c.m) < maxCachedScopeSets {
			break
		}
		c.ids -= c.m[ok].sets.size()
		delete(c.m, ok)
	}
	if c.m == nil {
		c.m = map[scopeCacheKey]cachedScope{}
	}
	c.m[k] = cachedScope{version: version, sets: sets}
	c.ids += n
}

// ReadMember implements access.MemberReader: member id, read as the
// system, and the scope version of its workspace, in one statement. The
// function it returns gives a principal context (the one As makes) the
// sets kept for its principal in that workspace at that version, or else
// has the sets the context reads at its first scoped call kept for that
// version. Any principal's sets would do: the version is the workspace's.
// (Inside a transaction that has written, scopeSets reads the sets anew and
// keeps them with the transaction: neither is used there.)
func (s *Store) ReadMember(ctx context.Context, id string) (*access.Member, func(context.Context), error) {
	ctx = storage.AsSystem(ctx)
	ws := storage.WorkspaceFrom(ctx)
	c := s.members.c
	var version sql.NullInt64
	m, err := reading(ctx, s, func(ctx context.Context) (*access.Member, error) {
		rows, err := s.query(ctx, s.memberSQL, ws, id)
		if err != nil {
			return nil, s.d.translate(err, c.recType)
		}
		defer rows.Close()
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return nil, s.d.translate(err, c.recType)
			}
			return nil, fmt.Errorf("%w: %s %s", storage.ErrNotFound, c.recType, id)
		}
		sc := c.newScanner()
		sc.ptrs = append(sc.ptrs, &version)
		rv, err := c.scan(rows, sc)
		if err != nil {
			return nil, err
		}
		return rv.Interface().(*access.Member), rows.Close()
	})
	if err != nil {
		return nil, nil, err
	}
	ready := func(pctx context.Context) {
		p := storage.PrincipalFrom(pctx)
		if p == nil {
			return
		}
		k := newScopeCacheKey(ws, p)
		ctxmemo.Put(pctx, scopeKey{s, ws}, &scopeEntry{version: version.Int64, key: k, sets: s.scopes.get(k, version.Int64)})
	}
	return m, ready, nil
}

// memberQuery is the statement of ReadMember: a member and the scope
// version of its workspace (NULL before the first change).
func memberQuery(c *codec) string {
	return fmt.Sprintf("SELECT %s, (SELECT q.value FROM crm_sequences q WHERE q.workspace_id = t.workspace_id AND q.name = '%s') FROM %s t WHERE t.workspace_id = ? AND t.id = ?",
		c.selectCols, scopeSeq, c.table)
}

// scopesChanged records that the write in ctx changes what principals'
// scopes refer to in its workspace (a share, a member's teams): the scope
// version moves on when the store's transaction commits, just before, so
// that its row is the last lock the transaction takes and is held only
// for the commit; in a host application's transaction (WithTx), whose
// commit the store does not see, it moves at once.
func (s *Store) scopesChanged(ctx context.Context) error {
	tx := txFrom(ctx, s)
	if tx == nil || tx.tx == nil {
		_, err := s.nextNumber(ctx, scopeSeq)
		return err
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.moved == nil {
		tx.moved = map[string]bool{}
	}
	tx.moved[storage.WorkspaceFrom(ctx)] = true
	return nil
}

// moveScopeVersions moves on the scope versions of the workspaces whose
// scopes tx changed, in the order of their names (two transactions never
// wait on each other's rows).
func (s *Store) moveScopeVersions(ctx context.Context, tx *txState) error {
	for _, ws := range slices.Sorted(maps.Keys(tx.moved)) {
		if _, err := s.nextNumber(context.WithValue(storage.WithWorkspace(ctx, ws), txKey{s}, tx), scopeSeq); err != nil {
			return fmt.Errorf("bunstore: scope version: %w", err)
		}
	}
	return nil
}

// teamsChanged is the after hook of members: a member created or deleted
// with teams, or whose teams change, changes the sets of the principals
// of those teams.
func (s *Store) teamsChanged(ctx context.Context, prev, next reflect.Value) error {
	teams := func(v reflect.Value) []string {
		if !v.IsValid() {
			return nil
		}
		t := slices.Clone(v.Interface().(*access.Member).TeamIDs)
		slices.Sort(t)
		return slices.Compact(t)
	}
	if slices.Equal(teams(prev), teams(next)) {
		return nil
	}
	return s.scopesChanged(ctx)
}
