// Package sales is the sales force automation of crm: leads and their
// conversion, pipelines with ordered stages, and opportunities moving
// through them with their stage history.
//
// Every record goes through the store's one generic CRUD path, so workspace
// scope, access control, field security and the change log apply as they do
// to contacts. Every state change writes its own event type: lead.qualified,
// lead.disqualified, lead.converted, opportunity.stage_changed,
// opportunity.won, opportunity.lost, opportunity.reopened.
package sales
