// Package workflow automates the CRM: rules of a trigger, a condition and
// ordered actions, run durably by an Engine inside the host's process and
// database.
//
// A rule is set off by change events of a record type (created, updated,
// deleted, a field changed from or to a value, a stage changed), by time
// relative to a date field ("3 days before expected_close"), by a cron
// schedule, or by hand. Its condition is an expression of package
// storage/filterexpr over the record ("lifecycle == 'lead' && 'vip' in
// tags"), checked when the rule is saved; time triggers and schedules run
// it as SQL over all records, events in memory over one. Its actions send
// email, create tasks, set fields, add or remove tags, assign owners
// (round robin or by rule), call signed webhooks, wait durably, and enroll
// records in sequences (rules of manual trigger with exit conditions) or
// take them out; a host registers its own actions by name.
//
// Rules are stored per workspace (Engine.Rules), defined in Go code
// (Engine.Define), or loaded from files kept in the host's repository
// (LoadRules). DryRun shows what a rule would do for a record, and Runs is
// each rule's history: every run with its outcome, steps, errors and
// duration.
//
// Execution is durable. The engine reads the change log from a cursor
// stored in the database, so it never misses a committed change and never
// sees a rolled-back one; matching an event and each action is a job in
// the same database, retried with exponential backoff and jitter, kept as
// failed when out of attempts (Engine.Retry runs it again), idempotent by
// (event, rule, step), and leased, so that a job of a worker that died is
// taken over. Database actions commit with their job, exactly once;
// actions with outside effects (mail, webhooks) run at least once, with a
// key that stays the same across attempts for the receiver to drop
// repeats. A chain of rules setting each other off stops at
// Config.MaxDepth and the run says why.
//
// The package imports no SQL driver and no net/http: the store implements
// Store (storage/bunstore), the sender interfaces (send.Mailer,
// send.WebhookSender) and the permanent-error marker live in workflow/send,
// below the engine, so that other modules send without importing it, and
// the mail and HTTP senders live in workflow/smtp and workflow/webhook.
package workflow
