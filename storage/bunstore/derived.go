package bunstore

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"

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

// Add implements storage.HookStore: one UPDATE adding deltas to integer
// columns the store keeps itself, in the context's transaction and without
// a change event. Each addition is made to the value stored when the row
// is written (on Postgres the row's lock orders concurrent writers), so
// counters stay exact however many transactions add at once.
func (s *Store) Add(ctx context.Context, recordType, id string, deltas map[string]int64) error {
	c := s.codec(recordType)
	if c == nil {
		return fmt.Errorf("bunstore: Add: %q is not a registered record type", recordType)
	}
	fields := slices.Sorted(maps.Keys(deltas))
	if len(fields) == 0 {
		return nil
	}
	var b sqlBuilder
	b.add("UPDATE " + c.table + " SET ")
	for i, f := range fields {
		col := c.byName[f]
		if col == nil || !col.derived {
			return fmt.Errorf("bunstore: Add: %s.%s is not a field the store keeps (crm:\"derived\")", recordType, f)
		}
		if k := col.typ.Kind(); k < reflect.Int || k > reflect.Int64 {
			return fmt.Errorf("bunstore: Add: %s.%s is a %s, not an integer", recordType, f, col.typ)
		}
		if i > 0 {
			b.add(", ")
		}
		b.add(col.name+" = "+col.name+" + ?", deltas[f])
	}
	b.add(" WHERE workspace_id = ? AND id = ?", storage.WorkspaceFrom(ctx), id)
	_, err := s.exec(ctx, s.d.rebind(b.sb.String()), b.args...)
	return s.d.translate(err, recordType)
}
