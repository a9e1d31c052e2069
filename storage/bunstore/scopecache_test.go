package bunstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/storage/bunstore"
)

// TestScopeSetsReused checks when a principal context made by As reads
// the principal's scope sets and when it reuses those an earlier context
// read: reused while nothing changed, read again after a share, an unshare
// or a change of team (committed by the store or by the host's own
// transaction), not after a rolled-back share; never kept from a
// transaction that wrote, nor for contexts made with storage.WithPrincipal.
func TestScopeSetsReused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		open func(t *testing.T) *bunstore.Store
	}{
		{"sqlite", func(t *testing.T) *bunstore.Store { return testdb.SQLite(t) }},
		{"postgres", func(t *testing.T) *bunstore.Store { return testdb.Postgres(t) }},
		{"postgres-rls", func(t *testing.T) *bunstore.Store { s, _ := testdb.PostgresRLS(t); return s }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testScopeSetsReused(t, tc.open(t))
		})
	}
}

func testScopeSetsReused(t *testing.T, store *bunstore.Store) {
	sys := storage.AsSystem(storage.WithWorkspace(t.Context(), "ws"))
	acc := access.NewService(store)
	svc := contacts.NewService(store, contacts.Options{})
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	team, err := acc.CreateTeam(sys, "X", "")
	must("team", err)
	rep, err := acc.CreateMember(sys, access.NewMember{Name: "Rep", Role: access.RoleRep, TeamIDs: []string{team.ID}})
	must("member", err)
	other, err := acc.CreateMember(sys, access.NewMember{Name: "Other", Role: access.RoleRep})
	must("member", err)
	var theirs []string
	for _, n := range []string{"Ada", "Grace", "Alan"} {
		c, err := svc.Contacts.Create(sys, contacts.NewContact{FirstName: n, OwnerID: other.ID})
		must("contact", err)
		theirs = append(theirs, c.ID)
	}

	// sees makes a context as rep, as a request does, counts the contacts
	// it lists and reports how many times the sets were read meanwhile.
	sees := func(ctx context.Context) (n int64, reads int64) {
		t.Helper()
		before := bunstore.ScopeReads(store)
		actx, err := acc.As(ctx, rep.ID)
		must("as", err)
		n, err = svc.Contacts.Count(actx, nil)
		must("count", err)
		return n, bunstore.ScopeReads(store) - before
	}
	want := func(what string, ctx context.Context, wantN, wantReads int64) {
		t.Helper()
		if n, reads := sees(ctx); n != wantN || reads != wantReads {
			t.Errorf("%s: rep sees %d contacts with %d reads of its sets, want %d with %d", what, n, reads, wantN, wantReads)
		}
	}
	ref := func(i int) storage.Ref { return storage.Ref{Type: contacts.ObjectContact, ID: theirs[i]} }

	want("first context", sys, 0, 1)
	want("nothing changed", sys, 0, 0)
	sh, err := acc.Share(sys, ref(0), access.ShareWith{MemberID: rep.ID}, access.ShareRead)
	must("share", err)
	want("after a share", sys, 1, 1)
	want("nothing changed since the share", sys, 1, 0)
	_, err = acc.Share(sys, ref(1), access.ShareWith{TeamID: team.ID}, access.ShareRead)
	must("share with the team", err)
	want("after a share with the team", sys, 2, 1)
	must("unshare", acc.Unshare(sys, sh.ID))
	want("after an unshare", sys, 1, 1)
	_, err = acc.UpdateMember(sys, other.ID, access.UpdateMember{TeamIDs: &[]string{team.ID}})
	must("join the team", err)
	want("after the owner joins rep's team", sys, 3, 1)
	_, err = acc.UpdateMember(sys, other.ID, access.UpdateMember{Name: ptr("Other one")})
	must("rename", err)
	want("after a change that is not of teams", sys, 3, 0)
	_, err = acc.UpdateMember(sys, other.ID, access.UpdateMember{TeamIDs: &[]string{}})
	must("leave the team", err)
	want("after the owner leaves rep's team", sys, 1, 1)

	// A rolled-back share changes nothing.
	errRollback := errors.New("roll back")
	err = store.RunInTx(sys, func(ctx context.Context) error {
		if _, err := acc.Share(ctx, ref(2), access.ShareWith{MemberID: rep.ID}, access.ShareRead); err != nil {
			return err
		}
		// Made in the transaction after its write: read, and not kept.
		want("in the transaction that shared", ctx, 2, 1)
		want("again in the transaction that shared", ctx, 2, 1)
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("transaction: %v", err)
	}
	want("after a rolled-back share", sys, 1, 0)

	// A share in the host's transaction.
	tx, err := store.DB().DB.BeginTx(sys, nil)
	must("begin", err)
	_, err = acc.Share(store.WithTx(sys, tx), ref(2), access.ShareWith{MemberID: rep.ID}, access.ShareRead)
	if err != nil {
		tx.Rollback()
		t.Fatalf("share in the host's transaction: %v", err)
	}
	must("commit", tx.Commit())
	want("after a share in the host's transaction", sys, 2, 1)

	// A context made with WithPrincipal reads the sets, and keeps them for
	// no other.
	p, err := acc.Principal(sys, rep.ID)
	must("principal", err)
	for range 2 {
		before := bunstore.ScopeReads(store)
		n, err := svc.Contacts.Count(storage.WithPrincipal(sys, p), nil)
		must("count", err)
		if reads := bunstore.ScopeReads(store) - before; n != 2 || reads != 1 {
			t.Errorf("a context made with WithPrincipal sees %d contacts with %d reads of its sets, want 2 with 1", n, reads)
		}
	}
	want("after contexts made with WithPrincipal", sys, 2, 0)

	// ReadMember's function gives a context the sets of the context's own
	// principal in the workspace read, never rep's: another member's
	// context, or a context in another workspace, reads its own.
	_, ready, err := store.ReadMember(sys, rep.ID)
	must("read member", err)
	po, err := acc.Principal(sys, other.ID)
	must("principal", err)
	for what, ctx := range map[string]context.Context{
		"another member":    storage.WithPrincipal(sys, po),
		"another workspace": storage.WithPrincipal(storage.WithWorkspace(sys, "ws2"), p),
	} {
		ready(ctx)
		before := bunstore.ScopeReads(store)
		_, err := svc.Contacts.Count(ctx, nil)
		must("count", err)
		if reads := bunstore.ScopeReads(store) - before; reads != 1 {
			t.Errorf("a context of %s readied for rep: %d reads of its sets, want 1", what, reads)
		}
	}
}

func ptr[T any](v T) *T { return &v }
