// Package storage is the contract every layer of crm shares: record IDs and
// metadata, the sentinel errors, keyset pagination, change events, the filter
// tree, transactions and the scope (workspace and actor) carried in a context.
//
// It imports nothing else from the project, so every domain package
// (contacts, sales, …) and every adapter (storage/bunstore, storage/sqlite,
// storage/postgres) can depend on it. The root package crm re-exports the
// parts an application needs (errors, scope helpers).
package storage
