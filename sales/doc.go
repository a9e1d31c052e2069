// Package sales is the sales force automation of crm: leads (capture with
// a duplicate check, statuses, conversion into an account, a contact and a
// deal), pipelines with ordered stages, opportunities moving through them
// with their stage history, forecasts by period with snapshots and a
// pipeline summary kept as a rollup, products and price books, quotes
// (priced in integer minor units, gap-free numbers, printable HTML),
// invoices with payments and exports, tasks with an iCalendar feed per
// member, projects from won deals, and orders (the contact's purchase
// history).
//
// A host syncing its data upserts: Orders.Record by the order's external
// ID, Opportunities.Upsert by the deal's (ExternalID, unique per
// workspace), race-safe under concurrency.
//
// Every record goes through the store's one generic CRUD path, so workspace
// scope, access control, field security and the change log apply as they do
// to contacts. Every state change writes its own event type: lead.qualified,
// lead.disqualified, lead.converted, opportunity.stage_changed,
// opportunity.won, opportunity.lost, opportunity.reopened.
package sales
