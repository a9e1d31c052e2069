// Package contacts manages the people and companies a business deals with:
// contacts, accounts (companies, with a parent hierarchy), activities (calls,
// emails, meetings and notes: the communication history), custom field
// definitions, tags, full-text search and the timeline of a contact or account.
//
// It holds the domain rules (validation, normalisation of emails and phone
// numbers, custom field types) and declares the Store it needs; it never
// touches SQL. An application reaches it through crm.New, which wires it to a
// storage adapter.
//
// # Syncing a host's data
//
// Contacts.Upsert (by email or a custom external-ID field) and
// Accounts.Upsert (by domain or a custom field) create a record or update
// the one with the key, race-safe under concurrency (a lock on the key,
// storage.Upsert); Contacts.GetByEmail and List compare emails as they are
// stored. Inside a host's transaction a call that fails leaves the
// transaction usable (see crm.CRM.RunInTx).
//
// # Data at scale and privacy
//
// ImportContacts and ImportAccounts stream CSV files and upsert by a key;
// ExportContacts writes CSV, JSON or vCard. PersonalData, Erase, Anonymise
// and ApplyRetention serve the GDPR; Consents keeps what contacts agreed to.
//
// # Duplicates
//
// Each workspace has its duplicate rules (DuplicateRules): which exact rules
// are on (a shared email, a shared phone number, an equal external ID in a
// custom field) and whether the fuzzy rule is (full names of a Jaro-Winkler
// similarity at or above a threshold, within the same account, the same
// email domain, or either). Contacts.DuplicateRules reads them, or
// DefaultDuplicateRules until the workspace saves its own with
// Contacts.SetDuplicateRules, a record with history that admins change and
// everyone reads. Service.FindDuplicates scans the workspace by them (a
// call's DuplicateOptions override them), Contacts.Duplicates checks a
// contact before it is created (lead capture in package sales asks it too),
// and Contacts.Merge folds one contact into another, moving every record
// that refers to it, with Contacts.UndoMerge to put it back.
package contacts
