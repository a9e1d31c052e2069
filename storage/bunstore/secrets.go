package bunstore

import (
	"context"
	"fmt"

	"github.com/crmkit/crm/storage"
)

// PutSecret implements storage.Secrets, in the context's transaction (or
// a new one). Only the system stores secrets: a member's context is
// ErrForbidden (the services that keep secrets check who may set them,
// then write as the system).
func (s *Store) PutSecret(ctx context.Context, name, value string) error {
	if err := s.systemOnly(ctx); err != nil {
		return err
	}
	return s.write(ctx, "secret", func(ctx context.Context) error {
		_, err := s.exec(ctx, s.d.rebind(`INSERT INTO crm_secrets (workspace_id, name, value, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (workspace_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
			storage.WorkspaceFrom(ctx), name, value, s.d.timeArg(storage.Now()))
		return s.d.translate(err, "secret")
	})
}

// Secret implements storage.Secrets; as PutSecret, for the system only.
func (s *Store) Secret(ctx context.Context, name string) (string, error) {
	if err := s.systemOnly(ctx); err != nil {
		return "", err
	}
	return reading(ctx, s, func(ctx context.Context) (string, error) {
		var v string
		found, err := s.queryRow(ctx, "secret", s.d.rebind("SELECT value FROM crm_secrets WHERE workspace_id = ? AND name = ?"),
			[]any{storage.WorkspaceFrom(ctx), name}, &v)
		if err == nil && !found {
			err = fmt.Errorf("%w: secret %q", storage.ErrNotFound, name)
		}
		return v, err
	})
}

// DeleteSecret implements storage.Secrets; as PutSecret, for the system
// only.
func (s *Store) DeleteSecret(ctx context.Context, name string) error {
	if err := s.systemOnly(ctx); err != nil {
		return err
	}
	return s.write(ctx, "secret", func(ctx context.Context) error {
		_, err := s.exec(ctx, s.d.rebind("DELETE FROM crm_secrets WHERE workspace_id = ? AND name = ?"), storage.WorkspaceFrom(ctx), name)
		return s.d.translate(err, "secret")
	})
}

// systemOnly refuses a context that acts as a member.
func (s *Store) systemOnly(ctx context.Context) error {
	p, err := s.principal(ctx)
	if err != nil {
		return err
	}
	if p != nil && !p.IsSystem() {
		return fmt.Errorf("%w: secrets are the system's", storage.ErrForbidden)
	}
	return nil
}
