// Package storagetest is the conformance suite every storage adapter runs.
// An adapter's tests call Run with a Harness that opens a fresh store; the
// suite then drives the store through the domain services, exactly as an
// application does, and checks the contract of package storage: CRUD round
// trips of every record type, the sentinel errors, workspace isolation of
// every method, transactions that roll back without a trace, optimistic
// locking under contention, writers that never see "database is busy", and
// keyset pagination that is stable under concurrent inserts.
//
// A module that adds record types adds its checks here, so that every adapter
// runs them.
package storagetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
)

// Store is what the suite needs of an adapter: what crm.New needs.
// *bunstore.Store implements it.
type Store = crm.Store

// Harness describes the adapter under test.
type Harness struct {
	// Open returns a new, migrated and empty store owned by the calling test,
	// and registers its closing with t.Cleanup. Each call must be independent
	// of the others (a new file, a new schema), since tests run in parallel.
	Open func(t testing.TB) Store
	// IsBusy reports whether err is the adapter's "database is locked" error
	// (SQLite's SQLITE_BUSY). The suite fails if such an error ever reaches a
	// caller. Nil means the adapter has no such error.
	IsBusy func(err error) bool
	// OpenStrict is like Open, with the store requiring a principal in every
	// context (bunstore.Options.RequirePrincipal). Nil skips the checks of
	// that mode.
	OpenStrict func(t testing.TB) Store
	// RowLevelSecurity says the store runs under row-level security, where
	// a statement sees one workspace: the workflow engine is then given
	// the workspaces it serves (workflow.Config.Workspaces) instead of
	// reading all at once.
	RowLevelSecurity bool
	// HoldTransactions, when set, opens transactions that stay open (with
	// a transaction ID) until the returned function is called, on other
	// connections than the store's: in the store's database touching no CRM
	// table, and in another database of the server. The feed tests check
	// that they hold no reader back.
	HoldTransactions func(t testing.TB) (release func())
}

// Run runs the whole suite against the adapter h describes, each check as a
// parallel subtest.
func Run(t *testing.T, h Harness) {
	if h.Open == nil {
		t.Fatal("storagetest: Harness.Open is nil")
	}
	if h.IsBusy == nil {
		h.IsBusy = func(error) bool { return false }
	}
	h.Open = registered(h.Open)
	if h.OpenStrict != nil {
		h.OpenStrict = registered(h.OpenStrict)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"ContactRoundTrip", testContactRoundTrip},
		{"AccountRoundTrip", testAccountRoundTrip},
		{"AccountHierarchy", testAccountHierarchy},
		{"ActivityRoundTrip", testActivityRoundTrip},
		{"FieldDefRoundTrip", testFieldDefRoundTrip},
		{"CustomFields", testCustomFields},
		{"NotFound", testNotFound},
		{"Conflict", testConflict},
		{"Stale", testStale},
		{"BadInputWritesNothing", testBadInput},
		{"ValueBounds", testValueBounds},
		{"AmountBounds", testAmountBounds},
		{"RelatedRefs", testRelatedRefs},
		{"InputChecks", testInputChecks},
		{"WorkspaceIsolation", testWorkspaceIsolation},
		{"RollbackLeavesNothing", testRollback},
		{"NestedTransactionsJoin", testNestedTx},
		{"ConcurrentUpdatesLoseNothing", testConcurrentUpdates},
		{"ConcurrentWritersNeverBusy", testConcurrentWriters},
		{"PaginationUnderInserts", testPaginationUnderInserts},
		{"ListFilterSort", testListFilterSort},
		{"ListRejectsBadQueries", testListBadQueries},
		{"FilterWithin", testFilterWithin},
		{"ChangeFeedOf", testChangeFeedOf},
		{"FeedAllWorkspaces", testFeedAllWorkspaces},
		{"EmailLookups", testEmailLookups},
		{"ConcurrentAddTags", testConcurrentAddTags},
		{"HostTxCallFails", testHostTxCallFails},
		{"HostCheckouts", testHostCheckouts},
		{"Upserts", testUpserts},
		{"ConflictFields", testConflictFields},
		{"OrderLifecycle", testOrderLifecycle},
		{"FeedWithOpenTransactions", testFeedWithOpenTransactions},
		{"WorkflowStartFrom", testWorkflowStartFrom},
		{"WorkflowOperators", testWorkflowOperators},
		{"Search", testSearch},
		{"SearchPhrase", testSearchPhrase},
		{"ChangeFeed", testChangeFeed},
		{"History", testHistory},
		{"Timeline", testTimeline},
		{"LastActivity", testLastActivity},
		{"AccessMatchesOracle", testAccessOracle},
		{"AccessErrors", testAccessErrors},
		{"AccessScopesReads", testAccessReads},
		{"AccessLargeSets", testAccessLargeSets},
		{"AccessDirectory", testAccessDirectory},
		{"AccessStrict", testAccessStrict},
		{"AccessGrants", testAccessGrants},
		{"FieldLeak", testFieldLeak},
		{"FieldWrites", testFieldWrites},
		{"FieldRules", testFieldRules},
		{"Pipelines", testPipelines},
		{"LeadCapture", testLeadCapture},
		{"LeadConvert", testLeadConvert},
		{"OpportunityStages", testOpportunityStages},
		{"Forecast", testForecast},
		{"Aggregate", testAggregate},
		{"AggregateBuckets", testAggregateBuckets},
		{"AggregateDifferential", testAggregateDifferential},
		{"Reports", testReports},
		{"SalesKPIs", testSalesKPIs},
		{"MarketingKPIs", testMarketingKPIs},
		{"FunnelCohorts", testFunnelCohorts},
		{"StageKPIs", testStageKPIs},
		{"QuotaAttainment", testQuotaAttainment},
		{"ServiceCases", testServiceCases},
		{"ServiceEmail", testServiceEmail},
		{"ServiceSLA", testServiceSLA},
		{"ServiceSLANext", testServiceSLANext},
		{"ServiceSLABreach", testServiceSLABreach},
		{"ServiceAssignment", testServiceAssignment},
		{"FilterBounds", testFilterBounds},
		{"PersonalDataExport", testPersonalDataExport},
		{"SearchRankHidden", testSearchRankHidden},
		{"WorkflowActsAs", testWorkflowActsAs},
		{"WorkflowSecrets", testWorkflowSecrets},
		{"CustomRepeated", testCustomRepeated},
		{"MarketingPredictLeak", testMarketingPredictLeak},
		{"ServiceChat", testServiceChat},
		{"ServiceSurveys", testServiceSurveys},
		{"ServiceKnowledge", testServiceKnowledge},
		{"Dashboards", testDashboards},
		{"ReportMail", testReportMail},
		{"ProductsPrices", testProductsPrices},
		{"Quotes", testQuotes},
		{"Invoices", testInvoices},
		{"QuotesAsRep", testQuotesAsRep},
		{"TasksCalendar", testTasksCalendar},
		{"Projects", testProjects},
		{"Orders", testOrders},
		{"ExprMatchesSQL", testExprDifferential},
		{"ExprErrors", testExprErrors},
		{"ExprRelatedAccess", testExprRelatedAccess},
		{"ExprExtension", testExprExtension},
		{"BatchMatchesRows", testBatchMatchesRows},
		{"BatchAllOrNothing", testBatchAllOrNothing},
		{"ListFields", testListFields},
		{"InsertWithoutEvent", testInsertWithoutEvent},
		{"Import", testImport},
		{"ImportModes", testImportModes},
		{"ImportCompanyDomain", testImportCompanyDomain},
		{"ImportBatchFailure", testImportBatchFailure},
		{"ImportReadsFieldsOnce", testImportReadsFieldsOnce},
		{"ImportAccounts", testImportAccounts},
		{"ImportLeads", testImportLeads},
		{"Export", testExport},
		{"ConsentsPersonalData", testConsentsPersonalData},
		{"Erase", testErase},
		{"EraseSharedActivity", testEraseSharedActivity},
		{"Retention", testRetention},
		{"Duplicates", testDuplicates},
		{"DuplicatesOnCreate", testDuplicatesOnCreate},
		{"DuplicateRulesStored", testDuplicateRulesStored},
		{"DuplicateRulesApplied", testDuplicateRulesApplied},
		{"Merge", testMerge},
		{"MergeBadInput", testMergeBadInput},
		{"MergeAccess", testMergeAccess},
		{"MergeAccounts", testMergeAccounts},
		{"PersonalMarks", testPersonalMarks},
		{"Anonymise", testAnonymise},
		{"LeadRetention", testLeadRetention},
		{"WorkflowRules", testWorkflowRules},
		{"WorkflowEvents", testWorkflowEvents},
		{"WorkflowOnce", testWorkflowOnce},
		{"WorkflowDepth", testWorkflowDepth},
		{"WorkflowRetry", testWorkflowRetry},
		{"WorkflowSequence", testWorkflowSequence},
		{"WorkflowTime", testWorkflowTime},
		{"WorkflowDryRun", testWorkflowDryRun},
		{"WorkflowQueue", testWorkflowQueue},
		{"WorkflowStart", testWorkflowStart},
		{"WorkflowRetention", testWorkflowRetention},
		{"WorkflowMail", testWorkflowMail},
		{"WorkflowWebhook", testWorkflowWebhook},
		{"MarketingLists", testMarketingLists},
		{"MarketingSegments", testMarketingSegments},
		{"MarketingSend", testMarketingSend},
		{"MarketingSendResume", testMarketingSendResume},
		{"MarketingForms", testMarketingForms},
		{"MarketingBounces", testMarketingBounces},
		{"MarketingScoring", testMarketingScoring},
		{"MarketingABTest", testMarketingABTest},
		{"MarketingAttribution", testMarketingAttribution},
		{"MarketingNurture", testMarketingNurture},
		{"MarketingMerge", testMarketingMerge},
		{"MarketingSocial", testMarketingSocial},
		{"MarketingPredict", testMarketingPredict},
		{"RetentionRFM", testRetentionRFM},
		{"RetentionWinBack", testRetentionWinBack},
		{"RetentionChurnModel", testRetentionChurnModel},
		{"HostObjects", testHostObjects},
		{"HostObjectsDeclare", testHostObjectsDeclare},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, h)
		})
	}
}

// registered returns open with the built-in modules registered with the
// stores it opens (as crm.New does), so that the suite may use the
// domain services without crm.
func registered(open func(t testing.TB) Store) func(t testing.TB) Store {
	return func(t testing.TB) Store {
		t.Helper()
		s := open(t)
		if err := s.Register(storage.AsSystem(t.Context()), crm.Modules()...); err != nil {
			t.Fatalf("register the modules: %v", err)
		}
		return s
	}
}

// env is one test's store and services.
type env struct {
	t     testing.TB
	store Store
	svc   *contacts.Service
	ctx   context.Context
}

func newEnv(t testing.TB, h Harness) *env {
	t.Helper()
	store := h.Open(t)
	ctx := storage.WithActor(storage.WithWorkspace(t.Context(), "ws-a"), "tester")
	return &env{t: t, store: store, svc: contacts.NewService(store, contacts.Options{DefaultRegion: "US"}), ctx: ctx}
}

// in returns a context of workspace ws.
func (e *env) in(ws string) context.Context {
	return storage.WithActor(storage.WithWorkspace(e.t.Context(), ws), "tester-"+ws)
}

func (e *env) contact(ctx context.Context, in contacts.NewContact) *contacts.Contact {
	e.t.Helper()
	c, err := e.svc.Contacts.Create(ctx, in)
	if err != nil {
		e.t.Fatalf("create contact %+v: %v", in, err)
	}
	return c
}

func (e *env) account(ctx context.Context, in contacts.NewAccount) *contacts.Account {
	e.t.Helper()
	a, err := e.svc.Accounts.Create(ctx, in)
	if err != nil {
		e.t.Fatalf("create account %+v: %v", in, err)
	}
	return a
}

// sync waits until the change feed shows every transaction committed so
// far. The feed may lag behind commits (on Postgres it waits for older
// transactions of the whole server to end), so the suite writes a marker in
// a workspace of its own and waits for the marker's event: once it shows,
// so does every event committed before it.
func (e *env) sync() {
	e.t.Helper()
	ctx := e.in("ws-sync")
	c, err := e.svc.Contacts.Create(ctx, contacts.NewContact{FirstName: "sync"})
	if err != nil {
		e.t.Fatalf("sync marker: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for cursor := ""; ; {
		f, err := e.store.ChangeFeed(ctx, cursor, 1000)
		if err != nil {
			e.t.Fatalf("sync feed: %v", err)
		}
		for _, ev := range f.Events {
			if ev.Subject.ID == c.ID {
				return
			}
		}
		cursor = f.Cursor
		if time.Now().After(deadline) {
			e.t.Fatal("the change feed did not show a committed event within 30s")
		}
		if len(f.Events) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// events returns every event of ctx's workspace, oldest first, after
// waiting for the feed to catch up. ctx must not carry a transaction.
func (e *env) events(ctx context.Context) []storage.Event {
	e.t.Helper()
	e.sync()
	var all []storage.Event
	cursor := ""
	for {
		f, err := e.store.ChangeFeed(ctx, cursor, 500)
		if err != nil {
			e.t.Fatalf("change feed: %v", err)
		}
		all = append(all, f.Events...)
		if len(f.Events) == 0 {
			return all
		}
		cursor = f.Cursor
	}
}

// counts is how many rows of each kind a workspace holds.
type counts struct {
	Contacts, Accounts, Activities, FieldDefs, Events int
	Leads, Pipelines, Opportunities                   int
}

func (e *env) counts(ctx context.Context) counts {
	e.t.Helper()
	var c counts
	c.Contacts = count(e.t, ctx, storage.TableOf[*contacts.Contact](e.store))
	c.Accounts = count(e.t, ctx, storage.TableOf[*contacts.Account](e.store))
	c.Activities = count(e.t, ctx, storage.TableOf[*contacts.Activity](e.store))
	c.FieldDefs = count(e.t, ctx, storage.TableOf[*contacts.FieldDef](e.store))
	c.Leads = count(e.t, ctx, storage.TableOf[*sales.Lead](e.store))
	c.Pipelines = count(e.t, ctx, storage.TableOf[*sales.Pipeline](e.store))
	c.Opportunities = count(e.t, ctx, storage.TableOf[*sales.Opportunity](e.store))
	c.Events = len(e.events(ctx))
	return c
}

func count[T storage.Record](t testing.TB, ctx context.Context, tbl storage.Table[T]) int {
	t.Helper()
	n, err := tbl.Count(ctx, nil)
	if err != nil {
		t.Fatalf("count: %v", err)
	}
	return int(n)
}

// wantErr fails unless err matches target.
func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// wantFields fails unless err is a *ValidationError naming each of fields.
func wantFields(t testing.TB, what string, err error, fields ...string) {
	t.Helper()
	var ve *storage.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("%s: got error %v, want a *ValidationError", what, err)
	}
	for _, f := range fields {
		found := false
		for _, fe := range ve.Fields {
			if fe.Field == f {
				found = true
			}
		}
		if !found {
			t.Fatalf("%s: error %v does not name field %q", what, err, f)
		}
	}
}

func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func ptr[T any](v T) *T { return &v }

func name(i int) string { return fmt.Sprintf("n%04d", i) }
