package storagetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// oracleWorld is one generated workspace of the access property test, as a
// plain-Go model the store's answers are compared with.
type oracleWorld struct {
	members []*access.Member
	perms   map[string]storage.Permissions // by member ID
	teamsOf map[string][]string            // member ID → teams
	recs    []*contacts.Contact
	shares  map[[3]string]access.ShareAccess // (record, member, team) → access
}

// allowed is the oracle: may member m do action on a contact with owner
// and team?
func (w *oracleWorld) allowed(m, recID, owner, team string, action storage.Action) bool {
	teams := w.teamsOf[m]
	ok := false
	switch w.perms[m].Scope(contacts.ObjectContact, action) {
	case storage.ScopeAll:
		ok = true
	case storage.ScopeOwn:
		ok = owner == m
	case storage.ScopeTeam:
		ok = owner == m || (team != "" && slices.Contains(teams, team))
		for _, t := range w.teamsOf[owner] {
			ok = ok || slices.Contains(teams, t)
		}
	}
	if ok || (action != storage.ActionRead && action != storage.ActionUpdate) {
		return ok
	}
	for k, acc := range w.shares {
		if k[0] != recID || (k[1] != m && (k[2] == "" || !slices.Contains(teams, k[2]))) {
			continue
		}
		if action == storage.ActionRead || acc == access.ShareEdit {
			return true
		}
	}
	return false
}

var allScopes = []storage.Scope{storage.ScopeNone, storage.ScopeOwn, storage.ScopeTeam, storage.ScopeAll}

// testAccessOracle generates members with built-in and random custom roles,
// teams, owned contacts and shares, and checks that what every member can
// list, count, get, update, delete, export and create is exactly what the
// oracle says.
func testAccessOracle(t *testing.T, h Harness) {
	e := newEnv(t, h)
	cases := 0
	for round := range 3 {
		cases += oracleRound(t, e, fmt.Sprintf("ws-oracle-%d", round), rand.New(rand.NewPCG(uint64(round), 42)))
	}
	if cases < 2000 {
		t.Errorf("only %d cases checked", cases)
	}
	if !t.Failed() {
		t.Logf("%d access cases, 0 mismatches", cases)
	}
}

func oracleRound(t *testing.T, e *env, ws string, rng *rand.Rand) (cases int) {
	sys := e.in(ws)
	acc := access.NewService(e.store)
	w := &oracleWorld{perms: map[string]storage.Permissions{}, teamsOf: map[string][]string{}, shares: map[[3]string]access.ShareAccess{}}

	var teams []string
	for i := range 3 {
		tm, err := acc.CreateTeam(sys, fmt.Sprintf("team %d", i), "")
		must(t, "create team", err)
		teams = append(teams, tm.ID)
	}
	roles := []string{access.RoleAdmin, access.RoleManager, access.RoleRep, access.RoleReadOnly}
	for i := range 3 {
		key := contacts.ObjectContact
		if i == 2 {
			key = storage.AnyType
		}
		grants := map[storage.Action]storage.Scope{}
		for _, a := range storage.Actions {
			if rng.IntN(5) > 0 { // some actions left out: denied by default
				grants[a] = allScopes[rng.IntN(len(allScopes))]
			}
		}
		r, err := acc.DefineRole(sys, access.NewRole{Name: fmt.Sprintf("custom_%d", i), Permissions: storage.Permissions{key: grants}})
		must(t, "define role", err)
		roles = append(roles, r.Name)
	}
	for i := range 7 {
		var mt []string
		for _, tm := range teams {
			if rng.IntN(3) == 0 {
				mt = append(mt, tm)
			}
		}
		m, err := acc.CreateMember(sys, access.NewMember{Name: fmt.Sprintf("member %d", i), Role: roles[rng.IntN(len(roles))], TeamIDs: mt})
		must(t, "create member", err)
		p, err := acc.Principal(sys, m.ID)
		must(t, "principal", err)
		w.members = append(w.members, m)
		w.perms[m.ID] = p.Permissions
		w.teamsOf[m.ID] = m.TeamIDs
	}
	pick := func(ids []string) string {
		if n := rng.IntN(len(ids) + 1); n < len(ids) {
			return ids[n]
		}
		return ""
	}
	var memberIDs []string
	for _, m := range w.members {
		memberIDs = append(memberIDs, m.ID)
	}
	for i := range 30 {
		w.recs = append(w.recs, e.contact(sys, contacts.NewContact{FirstName: name(i), OwnerID: pick(memberIDs), TeamID: pick(teams)}))
	}
	shareIDs := map[[3]string]string{}
	share := func() {
		rec := w.recs[rng.IntN(len(w.recs))]
		with := access.ShareWith{MemberID: memberIDs[rng.IntN(len(memberIDs))]}
		if rng.IntN(2) == 0 {
			with = access.ShareWith{TeamID: teams[rng.IntN(len(teams))]}
		}
		a := []access.ShareAccess{access.ShareRead, access.ShareEdit}[rng.IntN(2)]
		sh, err := acc.Share(sys, storage.Ref{Type: contacts.ObjectContact, ID: rec.ID}, with, a)
		must(t, "share", err)
		k := [3]string{rec.ID, with.MemberID, with.TeamID}
		w.shares[k] = a
		shareIDs[k] = sh.ID
	}
	for range 14 {
		share()
	}

	for _, m := range w.members {
		ctx, err := acc.As(sys, m.ID)
		must(t, "as member", err)
		what := func(s string, args ...any) string {
			return fmt.Sprintf("member %s (role %s, teams %v): ", m.Name, m.Role, m.TeamIDs) + fmt.Sprintf(s, args...)
		}

		cases += w.checkListed(t, e, ctx, m, what)

		for _, r := range w.recs {
			ref := storage.Ref{Type: contacts.ObjectContact, ID: r.ID}
			readable := w.allowed(m.ID, r.ID, r.OwnerID, r.TeamID, storage.ActionRead)
			expect := func(action storage.Action) error {
				switch {
				case !readable:
					return storage.ErrNotFound
				case !w.allowed(m.ID, r.ID, r.OwnerID, r.TeamID, action):
					return storage.ErrForbidden
				}
				return nil
			}
			_, err := e.svc.Contacts.Get(ctx, r.ID)
			checkAccess(t, what("get %s", r.FirstName), err, expect(storage.ActionRead))
			for _, a := range []storage.Action{storage.ActionDelete, storage.ActionExport} {
				checkAccess(t, what("check %s %s", a, r.FirstName), e.store.Check(ctx, ref, a), expect(a))
			}
			prev, err := storage.TableOf[*contacts.Contact](e.store).Get(sys, r.ID)
			must(t, "get as system", err)
			next := *prev
			next.JobTitle = fmt.Sprintf("title %d", prev.Version)
			checkAccess(t, what("update %s", r.FirstName), storage.TableOf[*contacts.Contact](e.store).Update(ctx, prev, &next), expect(storage.ActionUpdate))
			cases += 4
		}

		// Create, with an owner and a team drawn at random.
		for i := range 4 {
			owner, team := pick(memberIDs), pick(teams)
			ok := w.allowed(m.ID, "", owner, team, storage.ActionCreate)
			if owner == "" {
				ok = w.allowed(m.ID, "", m.ID, team, storage.ActionCreate)
			}
			c, err := e.svc.Contacts.Create(ctx, contacts.NewContact{FirstName: fmt.Sprintf("new %d", i), OwnerID: owner, TeamID: team})
			var want error
			if !ok {
				want = storage.ErrForbidden
			}
			checkAccess(t, what("create owned by %q in team %q", owner, team), err, want)
			if err == nil {
				if owner == "" && c.OwnerID != m.ID {
					t.Errorf("%s", what("created contact has owner %q, want the creator", c.OwnerID))
				}
				must(t, "delete as system", e.svc.Contacts.Delete(sys, c.ID))
			}
			cases++
		}
	}

	// A share, an unshare or a change of a member's teams applies to the
	// principal contexts made after it, for every member; with nothing
	// changed in between, contexts that As makes may reuse what earlier
	// ones read (bunstore does), and see the same.
	for step := range 6 {
		if step%2 == 0 {
			switch rng.IntN(3) {
			case 0:
				share()
			case 1:
				keys := slices.SortedFunc(maps.Keys(shareIDs), func(a, b [3]string) int { return slices.Compare(a[:], b[:]) })
				k := keys[rng.IntN(len(keys))]
				must(t, "unshare", acc.Unshare(sys, shareIDs[k]))
				delete(shareIDs, k)
				delete(w.shares, k)
			case 2:
				m := w.members[rng.IntN(len(w.members))]
				var mt []string
				for _, tm := range teams {
					if rng.IntN(2) == 0 {
						mt = append(mt, tm)
					}
				}
				_, err := acc.UpdateMember(sys, m.ID, access.UpdateMember{TeamIDs: &mt})
				must(t, "change teams", err)
				m.TeamIDs = mt
				w.teamsOf[m.ID] = mt
			}
		}
		for _, m := range w.members {
			ctx, err := acc.As(sys, m.ID)
			must(t, "as member", err)
			cases += w.checkListed(t, e, ctx, m, func(s string, args ...any) string {
				return fmt.Sprintf("step %d, member %s (teams %v): ", step, m.Name, m.TeamIDs) + fmt.Sprintf(s, args...)
			})
		}
	}
	return cases
}

// checkListed checks that List, paged, and Count as member m (in ctx) see
// exactly the records the oracle lets m read, and returns the cases
// checked; what describes a mismatch.
func (w *oracleWorld) checkListed(t *testing.T, e *env, ctx context.Context, m *access.Member, what func(string, ...any) string) int {
	t.Helper()
	var want []string
	for _, r := range w.recs {
		if w.allowed(m.ID, r.ID, r.OwnerID, r.TeamID, storage.ActionRead) {
			want = append(want, r.ID)
		}
	}
	got := listAll(t, ctx, e.svc, storage.ListQuery{PageQuery: storage.PageQuery{Limit: 7}})
	if !slices.Equal(got, want) {
		t.Errorf("%s", what("list = %d records %v, oracle %d %v", len(got), got, len(want), want))
	}
	n, err := e.svc.Contacts.Count(ctx, nil)
	if err != nil || n != int64(len(want)) {
		t.Errorf("%s", what("count = %d (%v), oracle %d", n, err, len(want)))
	}
	return 2
}

// checkAccess fails t unless err is nil when want is, and wraps want
// otherwise.
func checkAccess(t testing.TB, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: %v, oracle allows it", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: %v, oracle says %v", what, err, want)
	}
}

// accessEnv is a workspace with two teams and members of several roles.
type accessEnv struct {
	*env
	acc                    *access.Service
	sys                    context.Context
	teamX, teamY           *access.Team
	repA, repB, mgr, admin *access.Member
}

func newAccessEnv(t *testing.T, h Harness) *accessEnv {
	e := &accessEnv{env: newEnv(t, h)}
	e.acc = access.NewService(e.store)
	e.sys = e.ctx
	var err error
	e.teamX, err = e.acc.CreateTeam(e.sys, "X", "")
	must(t, "team", err)
	e.teamY, err = e.acc.CreateTeam(e.sys, "Y", "")
	must(t, "team", err)
	member := func(name, role string, teams ...string) *access.Member {
		m, err := e.acc.CreateMember(e.sys, access.NewMember{Name: name, Role: role, TeamIDs: teams})
		must(t, "member "+name, err)
		return m
	}
	e.repA = member("Rep A", access.RoleRep, e.teamX.ID)
	e.repB = member("Rep B", access.RoleRep, e.teamY.ID)
	e.mgr = member("Manager", access.RoleManager, e.teamX.ID)
	e.admin = member("Admin", access.RoleAdmin)
	return e
}

func (e *accessEnv) as(m *access.Member) context.Context {
	e.t.Helper()
	ctx, err := e.acc.As(e.sys, m.ID)
	must(e.t, "as "+m.Name, err)
	return ctx
}

// testAccessErrors checks the errors of the model: not found versus
// forbidden, validation of members and roles, inactive members, sharing
// rights, deny by default, and the actor of the change log.
func testAccessErrors(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	a, b := e.as(e.repA), e.as(e.repB)

	mine := e.contact(a, contacts.NewContact{FirstName: "Mine"})
	if mine.OwnerID != e.repA.ID {
		t.Errorf("a rep's new contact has owner %q, want the rep", mine.OwnerID)
	}
	theirs := e.contact(b, contacts.NewContact{FirstName: "Theirs"})
	_, err := e.svc.Contacts.Get(a, theirs.ID)
	wantErr(t, "rep reads another team's contact", err, storage.ErrNotFound)
	_, err = e.svc.Contacts.Update(a, theirs.ID, contacts.UpdateContact{JobTitle: ptr("x")})
	wantErr(t, "rep updates another team's contact", err, storage.ErrNotFound)
	wantErr(t, "rep deletes another team's contact", e.svc.Contacts.Delete(a, theirs.ID), storage.ErrNotFound)

	// The manager of team X reads everything and changes team X's records.
	m := e.as(e.mgr)
	_, err = e.svc.Contacts.Get(m, theirs.ID)
	must(t, "manager reads", err)
	_, err = e.svc.Contacts.Update(m, theirs.ID, contacts.UpdateContact{JobTitle: ptr("x")})
	wantErr(t, "manager updates team Y's contact", err, storage.ErrForbidden)
	_, err = e.svc.Contacts.Update(m, theirs.ID, contacts.UpdateContact{FirstName: ptr(theirs.FirstName)})
	wantErr(t, "manager's update that changes nothing", err, storage.ErrForbidden)
	_, err = e.svc.Contacts.Update(m, mine.ID, contacts.UpdateContact{JobTitle: ptr("Lead")})
	must(t, "manager updates team X's contact", err)

	// The change log records the member as the actor.
	h1, err := e.store.History(e.sys, mine.ID, storage.PageQuery{})
	must(t, "history", err)
	if len(h1.Items) != 2 || h1.Items[0].Actor != e.mgr.ID || h1.Items[1].Actor != e.repA.ID {
		t.Errorf("history actors = %+v, want the manager then the rep", h1.Items)
	}

	// Creating outside the create scope.
	readOnly, err := e.acc.CreateMember(e.sys, access.NewMember{Name: "Viewer", Role: access.RoleReadOnly})
	must(t, "member", err)
	_, err = e.svc.Contacts.Create(e.as(readOnly), contacts.NewContact{FirstName: "No"})
	wantErr(t, "read-only creates", err, storage.ErrForbidden)

	// Deny by default: a role that grants nothing.
	_, err = e.acc.DefineRole(e.sys, access.NewRole{Name: "nothing"})
	must(t, "role", err)
	nobody, err := e.acc.CreateMember(e.sys, access.NewMember{Name: "Nobody", Role: "nothing"})
	must(t, "member", err)
	nb := e.as(nobody)
	if n, err := e.svc.Contacts.Count(nb, nil); err != nil || n != 0 {
		t.Errorf("a role without grants counts %d contacts (%v), want 0", n, err)
	}
	_, err = e.svc.Contacts.Create(nb, contacts.NewContact{FirstName: "No"})
	wantErr(t, "a role without grants creates", err, storage.ErrForbidden)

	// Validation.
	_, err = e.acc.DefineRole(e.sys, access.NewRole{Name: "bad", Permissions: storage.Permissions{"contact": {"read": "some", "fly": "all"}}})
	wantFields(t, "role with bad grants", err, "permissions.contact.fly", "permissions.contact.read")
	_, err = e.acc.DefineRole(e.sys, access.NewRole{Name: access.RoleAdmin})
	wantFields(t, "role named as a built-in one", err, "name")
	_, err = e.acc.UpdateRole(e.sys, access.RoleAdmin, access.UpdateRole{Permissions: &storage.Permissions{}})
	wantErr(t, "changing a built-in role", err, storage.ErrForbidden)
	_, err = e.acc.CreateMember(e.sys, access.NewMember{Name: "X", Role: "ghost", TeamIDs: []string{storage.NewID()}, Email: "not an email"})
	wantFields(t, "member with unknown role and team", err, "email", "role", "team_ids[0]")
	_, err = e.acc.CreateTeam(e.sys, "X", "")
	wantErr(t, "duplicate team name", err, storage.ErrConflict)

	// Inactive members cannot act.
	_, err = e.acc.UpdateMember(e.sys, e.repB.ID, access.UpdateMember{Active: ptr(false)})
	must(t, "deactivate", err)
	_, err = e.acc.Principal(e.sys, e.repB.ID)
	wantErr(t, "principal of an inactive member", err, storage.ErrForbidden)

	// Sharing needs the right to update the record; shares grant read or
	// edit, never delete.
	ref := storage.Ref{Type: contacts.ObjectContact, ID: theirs.ID}
	_, err = e.acc.Share(a, ref, access.ShareWith{MemberID: e.repA.ID}, access.ShareEdit)
	wantErr(t, "rep shares a record it cannot see", err, storage.ErrNotFound)
	_, err = e.acc.Share(m, ref, access.ShareWith{MemberID: e.repA.ID}, access.ShareEdit)
	wantErr(t, "manager shares a record it cannot update", err, storage.ErrForbidden)
	_, err = e.acc.Share(e.sys, ref, access.ShareWith{MemberID: e.repA.ID, TeamID: e.teamX.ID}, "all")
	wantFields(t, "share with two and bad access", err, "access", "with")
	// A principal context reads its shares once (storage.WithPrincipal):
	// a share or an unshare applies to the contexts made after it.
	sh, err := e.acc.Share(e.sys, ref, access.ShareWith{MemberID: e.repA.ID}, access.ShareRead)
	must(t, "share", err)
	_, err = e.svc.Contacts.Get(a, theirs.ID)
	wantErr(t, "read through a share made after the principal context", err, storage.ErrNotFound)
	a = e.as(e.repA)
	_, err = e.svc.Contacts.Get(a, theirs.ID)
	must(t, "read through a share", err)
	_, err = e.svc.Contacts.Update(a, theirs.ID, contacts.UpdateContact{JobTitle: ptr("x")})
	wantErr(t, "update through a read share", err, storage.ErrForbidden)
	_, err = e.acc.Share(e.sys, ref, access.ShareWith{MemberID: e.repA.ID}, access.ShareEdit)
	must(t, "share again, for edit", err)
	if shares, err := e.acc.Shares(e.sys, ref); err != nil || len(shares) != 1 || shares[0].Access != access.ShareEdit {
		t.Errorf("shares after sharing twice = %+v (%v), want one edit share", shares, err)
	}
	a = e.as(e.repA)
	_, err = e.svc.Contacts.Update(a, theirs.ID, contacts.UpdateContact{JobTitle: ptr("Shared")})
	must(t, "update through an edit share", err)
	wantErr(t, "delete through an edit share", e.svc.Contacts.Delete(a, theirs.ID), storage.ErrForbidden)
	must(t, "unshare", e.acc.Unshare(e.sys, sh.ID))
	_, err = e.svc.Contacts.Get(a, theirs.ID)
	must(t, "read in the principal context made before unsharing", err)
	_, err = e.svc.Contacts.Get(e.as(e.repA), theirs.ID)
	wantErr(t, "read after unsharing", err, storage.ErrNotFound)

	// What a transaction reads for a principal after it has written is not
	// kept with the principal context: rolled back, a share it made grants
	// nothing.
	a = e.as(e.repA)
	errRollback := errors.New("roll back")
	err = e.store.RunInTx(a, func(ctx context.Context) error {
		if _, err := e.acc.Share(storage.AsSystem(ctx), ref, access.ShareWith{TeamID: e.teamX.ID}, access.ShareRead); err != nil {
			return err
		}
		if _, err := e.svc.Contacts.Get(ctx, theirs.ID); err != nil {
			t.Errorf("read through a share in the transaction that made it: %v", err)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("transaction: %v", err)
	}
	_, err = e.svc.Contacts.Get(a, theirs.ID)
	wantErr(t, "read through a share rolled back", err, storage.ErrNotFound)

	// Likewise a share undone by the rollback to a savepoint.
	err = e.store.RunInTx(a, func(ctx context.Context) error {
		if _, err := e.svc.Contacts.Create(ctx, contacts.NewContact{FirstName: "Write first"}); err != nil {
			return err
		}
		serr := storage.RunInSavepoint(ctx, e.store, func(ctx context.Context) error {
			if _, err := e.acc.Share(storage.AsSystem(ctx), ref, access.ShareWith{TeamID: e.teamX.ID}, access.ShareRead); err != nil {
				return err
			}
			if _, err := e.svc.Contacts.Get(ctx, theirs.ID); err != nil {
				t.Errorf("read through a share in the savepoint that made it: %v", err)
			}
			return errRollback
		})
		if !errors.Is(serr, errRollback) {
			return serr
		}
		_, err := e.svc.Contacts.Get(ctx, theirs.ID)
		wantErr(t, "read through a share rolled back to a savepoint", err, storage.ErrNotFound)
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("transaction: %v", err)
	}
}

// testAccessReads checks that search, timelines, history and the change
// feed show a principal only the records it may read.
func testAccessReads(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	a, b := e.as(e.repA), e.as(e.repB)
	ca := e.contact(a, contacts.NewContact{FirstName: "Zebulon", LastName: "Alpha"})
	cb := e.contact(b, contacts.NewContact{FirstName: "Zebulon", LastName: "Beta"})
	_, err := e.svc.Activities.Log(e.sys, contacts.NewActivity{Kind: contacts.KindNote, Subject: "B's note on A's contact", ContactIDs: []string{ca.ID}, OwnerID: e.repB.ID})
	must(t, "log activity", err)
	_, err = e.svc.Activities.Log(a, contacts.NewActivity{Kind: contacts.KindNote, Subject: "A's own note", ContactIDs: []string{ca.ID}})
	must(t, "log activity", err)

	res, err := e.svc.Search(a, "zebulon", 10)
	must(t, "search", err)
	if len(res) != 1 || res[0].Contact == nil || res[0].Contact.ID != ca.ID {
		t.Errorf("rep A's search = %+v, want only its own contact", res)
	}
	if res, err := e.svc.Search(e.as(e.mgr), "zebulon", 10); err != nil || len(res) != 2 {
		t.Errorf("manager's search = %d hits (%v), want 2", len(res), err)
	}

	tl, err := e.svc.Contacts.Timeline(a, ca.ID, storage.PageQuery{})
	must(t, "timeline", err)
	for _, en := range tl.Items {
		if en.Activity != nil && en.Activity.OwnerID != e.repA.ID {
			t.Errorf("rep A's timeline shows rep B's activity %q", en.Activity.Subject)
		}
	}
	if len(tl.Items) != 2 { // A's note and the contact's created event
		t.Errorf("rep A's timeline has %d entries, want 2", len(tl.Items))
	}
	_, err = e.svc.Contacts.Timeline(a, cb.ID, storage.PageQuery{})
	wantErr(t, "timeline of an unreadable contact", err, storage.ErrNotFound)

	if hist, err := e.store.History(a, cb.ID, storage.PageQuery{}); err != nil || len(hist.Items) != 0 {
		t.Errorf("rep A's history of rep B's contact = %d events (%v), want 0", len(hist.Items), err)
	}
	e.sync()
	for cursor := ""; ; {
		f, err := e.store.ChangeFeed(a, cursor, 100)
		must(t, "feed", err)
		for _, ev := range f.Events {
			if ev.Subject.ID == cb.ID {
				t.Errorf("rep A's change feed shows %s of rep B's contact", ev.Type)
			}
		}
		if len(f.Events) == 0 {
			break
		}
		cursor = f.Cursor
	}
}

// testAccessDirectory checks members, teams and roles: sync by external
// ID, who may change the directory, and workspace isolation.
func testAccessDirectory(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	m, err := e.acc.SyncMember(e.sys, access.NewMember{ExternalID: "u-1", Name: "Grace", Email: "Grace@Example.com", Role: access.RoleRep})
	must(t, "sync new", err)
	if m.Email != "grace@example.com" || !m.Active {
		t.Errorf("synced member = %+v", m)
	}
	m2, err := e.acc.SyncMember(e.sys, access.NewMember{ExternalID: "u-1", Name: "Grace Hopper", Role: access.RoleManager, TeamIDs: []string{e.teamY.ID}})
	must(t, "sync again", err)
	if m2.ID != m.ID || m2.Name != "Grace Hopper" || m2.Role != access.RoleManager || m2.Version != 2 {
		t.Errorf("second sync = %+v, want the same member updated", m2)
	}
	p, err := e.acc.Principal(e.sys, m.ID)
	must(t, "principal", err)
	if p.Role != access.RoleManager || !slices.Equal(p.TeamIDs, []string{e.teamY.ID}) {
		t.Errorf("principal = %+v", p)
	}

	a := e.as(e.repA)
	page, err := e.acc.ListMembers(a, storage.ListQuery{})
	must(t, "rep lists members", err)
	if len(page.Items) != 5 {
		t.Errorf("rep sees %d members, want 5", len(page.Items))
	}
	_, err = e.acc.CreateMember(a, access.NewMember{Name: "Sneaky", Role: access.RoleAdmin})
	wantErr(t, "rep creates a member", err, storage.ErrForbidden)
	_, err = e.acc.UpdateMember(a, e.repA.ID, access.UpdateMember{Role: ptr(access.RoleAdmin)})
	wantErr(t, "rep promotes itself", err, storage.ErrForbidden)
	_, err = e.acc.CreateMember(e.as(e.admin), access.NewMember{Name: "Hired", Role: access.RoleRep})
	must(t, "admin creates a member", err)

	other := e.in("ws-b")
	_, err = e.acc.GetMember(other, e.repA.ID)
	wantErr(t, "member of another workspace", err, storage.ErrNotFound)
	_, err = e.acc.Principal(other, e.repA.ID)
	wantErr(t, "principal of another workspace's member", err, storage.ErrNotFound)
	_, err = e.acc.CreateMember(other, access.NewMember{Name: "X", Role: access.RoleRep, TeamIDs: []string{e.teamX.ID}})
	wantFields(t, "team of another workspace", err, "team_ids[0]")
	_, err = e.acc.Share(other, storage.Ref{Type: contacts.ObjectContact, ID: e.repA.ID}, access.ShareWith{MemberID: e.repA.ID}, access.ShareRead)
	wantErr(t, "share a record of another workspace", err, storage.ErrNotFound)
	if n, err := storage.TableOf[*access.Member](e.store).Count(other, nil); err != nil || n != 0 {
		t.Errorf("other workspace counts %d members (%v), want 0", n, err)
	}
}

// testAccessStrict checks a store that requires a principal: a context
// without one is refused, the system acts only when asked, and its writes
// are recorded as the system's.
func testAccessStrict(t *testing.T, h Harness) {
	if h.OpenStrict == nil {
		t.Skip("the adapter has no strict mode")
	}
	store := h.OpenStrict(t)
	svc := contacts.NewService(store, contacts.Options{})
	acc := access.NewService(store)
	ctx := storage.WithActor(storage.WithWorkspace(t.Context(), "ws"), "someone")

	_, err := svc.Contacts.Count(ctx, nil)
	wantErr(t, "count without a principal", err, storage.ErrForbidden)
	_, err = svc.Contacts.Create(ctx, contacts.NewContact{FirstName: "No"})
	wantErr(t, "create without a principal", err, storage.ErrForbidden)
	_, err = svc.Search(ctx, "no", 5)
	wantErr(t, "search without a principal", err, storage.ErrForbidden)

	sys := storage.AsSystem(ctx)
	c, err := svc.Contacts.Create(sys, contacts.NewContact{FirstName: "Yes"})
	must(t, "create as system", err)
	if c.CreatedBy != storage.SystemActor {
		t.Errorf("system write recorded as %q", c.CreatedBy)
	}
	m, err := acc.CreateMember(sys, access.NewMember{Name: "Rep", Role: access.RoleRep})
	must(t, "member", err)
	as, err := acc.As(ctx, m.ID)
	must(t, "as", err)
	if n, err := svc.Contacts.Count(as, nil); err != nil || n != 0 {
		t.Errorf("rep counts %d contacts (%v), want 0 (the system's contact has no owner)", n, err)
	}
	mine, err := svc.Contacts.Create(as, contacts.NewContact{FirstName: "Mine"})
	must(t, "rep creates", err)
	if mine.CreatedBy != m.ID || mine.OwnerID != m.ID {
		t.Errorf("rep's contact: created by %q, owner %q; want %q", mine.CreatedBy, mine.OwnerID, m.ID)
	}
}

// testAccessLargeSets checks the scopes of a principal whose team has more
// members, and who has more shares, than the stores bind as short lists:
// the sets a scope refers to take another form past 64 elements on SQLite
// and 16 on Postgres.
func testAccessLargeSets(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	big, err := e.acc.CreateTeam(e.sys, "Big", "")
	must(t, "team", err)
	var mates []string
	for i := range 70 {
		m, err := e.acc.CreateMember(e.sys, access.NewMember{Name: fmt.Sprintf("mate %d", i), Role: access.RoleRep, TeamIDs: []string{big.ID}})
		must(t, "member", err)
		mates = append(mates, m.ID)
	}
	var want []string
	for i, m := range mates {
		want = append(want, e.contact(e.sys, contacts.NewContact{FirstName: name(i), OwnerID: m}).ID)
	}
	var theirs []*contacts.Contact
	for i := range 140 {
		theirs = append(theirs, e.contact(e.sys, contacts.NewContact{FirstName: name(100 + i), OwnerID: e.repB.ID}))
	}
	edit := map[string]bool{}
	for i, c := range theirs[:75] {
		ref := storage.Ref{Type: contacts.ObjectContact, ID: c.ID}
		with, acc := access.ShareWith{MemberID: mates[0]}, access.ShareRead
		switch {
		case i >= 70:
			with = access.ShareWith{TeamID: big.ID}
		case i%3 == 0:
			acc = access.ShareEdit
			edit[c.ID] = true
		}
		_, err := e.acc.Share(e.sys, ref, with, acc)
		must(t, "share", err)
		want = append(want, c.ID)
	}
	ctx, err := e.acc.As(e.sys, mates[0])
	must(t, "as", err)
	got := listAll(t, ctx, e.svc, storage.ListQuery{PageQuery: storage.PageQuery{Limit: 40}})
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("list = %d records, want %d (70 of team mates, 75 shared)", len(got), len(want))
	}
	if n, err := e.svc.Contacts.Count(ctx, nil); err != nil || n != int64(len(want)) {
		t.Errorf("count = %d (%v), want %d", n, err, len(want))
	}
	for i, c := range theirs {
		prev, err := storage.TableOf[*contacts.Contact](e.store).Get(e.sys, c.ID)
		must(t, "get as system", err)
		next := *prev
		next.JobTitle = "changed"
		var wantErr error
		switch {
		case i >= 75:
			wantErr = storage.ErrNotFound
		case !edit[c.ID]:
			wantErr = storage.ErrForbidden
		}
		checkAccess(t, fmt.Sprintf("update of contact %d", i), storage.TableOf[*contacts.Contact](e.store).Update(ctx, prev, &next), wantErr)
	}
}

// testAccessGrants checks that a member gives only roles within its own
// rights: a custom role whose "*" lets it create members made an admin
// before; now a role granting a wider scope for any type, or opening a
// field its role hides, is ErrForbidden, an equal or narrower one is
// given; only admins define roles.
func testAccessGrants(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	maker := map[storage.Action]storage.Scope{storage.ActionRead: storage.ScopeAll, storage.ActionCreate: storage.ScopeAll,
		storage.ActionUpdate: storage.ScopeTeam, storage.ActionDelete: storage.ScopeOwn, storage.ActionExport: storage.ScopeNone}
	_, err := e.acc.DefineRole(e.sys, access.NewRole{Name: "maker", Permissions: storage.Permissions{storage.AnyType: maker}})
	must(t, "maker role", err)
	_, err = e.acc.DefineRole(e.sys, access.NewRole{Name: "masked_maker", Permissions: storage.Permissions{storage.AnyType: maker},
		Fields: storage.FieldRules{contacts.ObjectContact: {"email": storage.FieldHidden}}})
	must(t, "masked role", err)
	mk, err := e.acc.CreateMember(e.sys, access.NewMember{Name: "Maker", Role: "maker"})
	must(t, "maker", err)
	masked, err := e.acc.CreateMember(e.sys, access.NewMember{Name: "Masked", Role: "masked_maker"})
	must(t, "masked", err)
	asMaker, asMasked := e.as(mk), e.as(masked)
	for _, c := range []struct {
		who  string
		ctx  context.Context
		role string
		ok   bool
	}{
		{"maker", asMaker, access.RoleAdmin, false},   // all of everything
		{"maker", asMaker, access.RoleManager, false}, // delete and export of the team's
		{"maker", asMaker, access.RoleRep, true},      // within the maker's
		{"maker", asMaker, "maker", true},             // its own
		{"masked", asMasked, access.RoleRep, false},   // reps see the email it does not
		{"masked", asMasked, "masked_maker", true},
	} {
		_, err := e.acc.CreateMember(c.ctx, access.NewMember{Name: "New " + c.role, Role: c.role})
		if c.ok && err != nil {
			t.Errorf("%s gives role %s: %v", c.who, c.role, err)
		}
		if !c.ok && !errors.Is(err, storage.ErrForbidden) {
			t.Errorf("%s gives role %s: %v, want ErrForbidden", c.who, c.role, err)
		}
	}
	// A role change too; an unchanged role is not checked again.
	_, err = e.acc.UpdateMember(asMaker, e.repA.ID, access.UpdateMember{Role: ptr(access.RoleAdmin)})
	wantErr(t, "maker makes rep A an admin", err, storage.ErrForbidden)
	// Only admins define roles.
	_, err = e.acc.DefineRole(asMaker, access.NewRole{Name: "super", Permissions: storage.Permissions{storage.AnyType: maker}})
	wantErr(t, "maker defines a role", err, storage.ErrForbidden)
	_, err = e.acc.DefineRole(e.as(e.admin), access.NewRole{Name: "by_admin", Permissions: storage.Permissions{storage.AnyType: maker}})
	must(t, "an admin defines a role", err)
}
