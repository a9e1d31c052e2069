package bunstore

import (
	"context"
	"fmt"
	"reflect"

	"github.com/crmkit/crm/storage"
)

// Advance implements storage.HookStore: one UPDATE of the derived column,
// moving it forward only, in the context's transaction and without a
// change event (the write that called the hook has its own event, which
// records what happened). The contacts module keeps the last activity of
// contacts and accounts with it.
func (s *Store) Advance(ctx context.Context, recordType string, ids []string, field string, value any) error {
	c := s.codec(recordType)
	if c == nil {
		return fmt.Errorf("bunstore: Advance: %q is not a registered record type", recordType)
	}
	col := c.byName[field]
	if col == nil || !col.derived {
		return fmt.Errorf("bunstore: Advance: %s.%s is not a field the store keeps (crm:\"derived\")", recordType, field)
	}
	v := reflect.ValueOf(value)
	if !v.IsValid() || v.Type() != col.typ {
		return fmt.Errorf("bunstore: Advance: %s.%s takes a %s, not %T", recordType, field, col.typ, value)
	}
	if len(ids) == 0 {
		return nil
	}
	at, err := col.valueArg(s.d, v)
	if err != nil {
		return err
	}
	args := append([]any{at, storage.WorkspaceFrom(ctx)}, anys(ids)...)
	args = append(args, at)
	_, err = s.exec(ctx, s.d.rebind("UPDATE "+c.table+" SET "+col.name+" = ? WHERE workspace_id = ? AND id IN ("+
		placeholders(len(ids))+") AND "+col.name+" < ?"), args...)
	return err
}
