package storage

import "context"

// Secrets is an optional capability of a store: values kept apart from
// every record, change event and feed, by name in each workspace, read back
// only by the code that uses them (the workflow engine's webhook signing
// keys and credentials). Nothing lists them, and no API returns them: a
// record names one by a reference (SecretRef).
type Secrets interface {
	// PutSecret stores value under name in ctx's workspace, replacing any.
	PutSecret(ctx context.Context, name, value string) error
	// Secret returns the value stored under name, or ErrNotFound.
	Secret(ctx context.Context, name string) (string, error)
	// DeleteSecret removes name; a missing one is no error.
	DeleteSecret(ctx context.Context, name string) error
}

// SecretRefPrefix begins a value that names a stored secret rather than
// holding one: "secret:" and the secret's name.
const SecretRefPrefix = "secret:"
