// Package retention is the CRM's customer-retention module, built on the
// orders the host records (sales.Orders) and the deals it wins:
//
//   - RFM per customer: recency, frequency and monetary value from orders
//     and won deals, quintile scores 1–5 against the workspace's
//     customers, and the standard segments (champions, loyal, at risk,
//     hibernating, lost…), kept current from the change feed (RFM). A
//     contact's record extends it in the expression language, so segments,
//     reports and lists filter on "rfm.segment == 'at_risk'";
//   - churn risk: the time since a customer's last purchase against its own
//     interval between purchases, explained, with the expected next
//     purchase and the moment the risk turns high as dates that time
//     triggers use; and a logistic model trained on the customers who did
//     and did not come back, with its held-out accuracy and each feature's
//     contribution (Churn);
//   - loyalty programs: an append-only points ledger per contact, earn
//     rules in the expression language, tiers over a rolling window,
//     rewards and race-safe redemptions, expiry (Loyalty);
//   - a win-back sequence built from workflow rules (WinBack).
//
// It is a module of the generic path (Module): its records have change
// events, scopes, workflow triggers and a personal-data declaration, and
// go with the person when a contact is erased. It is not about keeping
// data for a time (the retention policies of package crm).
package retention
