// Package storage is the contract every layer of crm shares: record IDs and
// metadata, the sentinel errors, keyset pagination, change events, the filter
// tree, transactions and the scope (workspace and actor) carried in a
// context; the description of modules and their record types (Module, Type)
// and the generic path of every registered type (TableOf, RecordTable);
// aggregates, rollups and timelines; and the optional interfaces through
// which modules' services offer record writers, actions and personal-data
// providers.
//
// It imports nothing else from the project but its own plumbing
// (storage/internal), so every domain package (contacts, sales, …) and
// every adapter (storage/bunstore, storage/sqlite, storage/postgres) can
// depend on it. The root package crm re-exports the parts an application
// needs (errors, scope helpers, the filter tree).
package storage
