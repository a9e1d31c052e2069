// Package reporting is the CRM's reports: a report is a record type (any
// registered one, the host's own included), a filter in the expression
// language, up to two groupings (fields, custom fields, periods of time
// fields in a time zone), measures (count, count distinct, sum, average,
// minimum, maximum, each with its own condition, and ratios of two), a
// having condition, a sort and a limit. Reports.Run turns one into a
// single SQL statement (storage.Aggregator) that runs as the context's
// member: it covers only the records the member may read, and grouping by
// or measuring a field hidden from it is ErrForbidden. Groups whose
// values are records (owners, teams, accounts) come back with their
// display names, where the member may read them.
//
// Reports are saved per workspace as records of the generic path, with
// their history, and run with a date range (Params).
package reporting
