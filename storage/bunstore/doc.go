// Package bunstore implements every domain Store of crm on one *bun.DB, for
// SQLite and Postgres alike. The storage/sqlite and storage/postgres packages
// open a database and hand it here; an application that already runs bun can
// call New with its own *bun.DB and keep the CRM's tables (all prefixed
// "crm_") beside its own.
//
// All record types share one generic CRUD path (Table), which appends the
// change event, keeps the search and link indexes, confines every statement
// to the context's workspace and checks versions, inside one transaction.
//
// bun provides the struct metadata (column names from struct tags), the
// dialect and the handle a host application shares with us. The statements
// themselves are built once per record type and run through database/sql
// with real bind parameters: no value a user typed ever becomes SQL text, and
// SQLite statements are prepared once and reused.
package bunstore
