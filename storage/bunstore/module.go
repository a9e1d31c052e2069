package bunstore

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	"github.com/crmkit/crm/storage"
)

// registry is what modules registered with a store: their descriptions
// and a table per record type. It is never changed once published
// (Store.reg): Register builds a new one, so that readers take no lock.
type registry struct {
	mods   map[string]storage.Module // by name
	order  []string                  // module names, in registration order
	tables map[string]*table         // by record type
	types  []*table                  // in registration order
	// refs are every record type's references by name, its own and the
	// extensions of later modules on it (storage.ReferencesOf), made anew
	// with each registry by checkRefs: a table handed out earlier reads
	// them through its store, so it sees the extensions registered after.
	refs map[string]map[string]storage.Reference
}

// Table implements storage.Tables over r's types, for ReferencesOf.
func (r *registry) Table(recordType string) (storage.RecordTable, bool) {
	t, ok := r.tables[recordType]
	if !ok {
		return nil, false
	}
	return t, true
}

// Types implements storage.Tables over r's types.
func (r *registry) Types() []storage.RecordType {
	out := make([]storage.RecordType, len(r.types))
	for i, t := range r.types {
		out[i] = t.ty
	}
	return out
}

// related returns c's reference named rel and the codec of the record
// type it refers to; ok is false when c's type has no such reference.
func (r *registry) related(c *codec, rel string) (ref storage.Reference, rc *codec, ok bool) {
	ref, ok = r.refs[c.recType][rel]
	if !ok {
		return ref, nil, false
	}
	return ref, r.tables[ref.Type].c, true
}

// clone returns a copy of r that Register may change.
func (r *registry) clone() *registry {
	out := &registry{mods: make(map[string]storage.Module, len(r.mods)+1), order: slices.Clone(r.order),
		tables: make(map[string]*table, len(r.tables)+8), types: slices.Clone(r.types)}
	for k, v := range r.mods {
		out.mods[k] = v
	}
	for k, v := range r.tables {
		out.tables[k] = v
	}
	return out
}

// Register adds modules to the store, in order: their record types get
// their tables (the generic path, storage.TableOf) and their migration
// lines are brought up to date (see Migrate). A module registered already
// is skipped. A module whose description is bad (storage.Module.Check),
// whose record type another module has, that refers to a record type no
// registered module has, or whose reference or extension
// (storage.TypeOptions.Extends) is bad (see checkRefs), is an error, and
// nothing of the call is registered. The tables of types registered
// before see the extensions a later call declares on them. With Options.ManualMigrations it migrates nothing and fails
// unless the schema is up to date. crm.New registers the built-in modules
// and the host's.
func (s *Store) Register(ctx context.Context, mods ...storage.Module) error {
	if err := s.register(mods...); err != nil {
		return err
	}
	if s.manual {
		if err := s.checkMigrated(ctx); err != nil {
			return err
		}
		return s.loadUniqueIndexes(ctx)
	}
	return s.Migrate(ctx)
}

// register adds the record types of mods to the registry (see Register).
func (s *Store) register(mods ...storage.Module) error {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	r := s.reg.Load().clone()
	for _, m := range mods {
		if err := m.Check(); err != nil {
			return fmt.Errorf("bunstore: module %q: %w", m.Name, err)
		}
		if _, ok := r.mods[m.Name]; ok {
			continue
		}
		for _, req := range m.Requires {
			if _, ok := r.mods[req]; !ok {
				return fmt.Errorf("bunstore: module %q requires module %q, which is not registered before it", m.Name, req)
			}
		}
		for _, ty := range m.Types {
			if old, ok := r.tables[ty.Name()]; ok {
				return fmt.Errorf("bunstore: module %q: record type %q is registered already (as %s)", m.Name, ty.Name(), old.ty.GoType())
			}
			t, err := newTable(s, ty)
			if err != nil {
				return fmt.Errorf("bunstore: module %q: %w", m.Name, err)
			}
			if err := s.hook(t); err != nil {
				return fmt.Errorf("bunstore: module %q: %w", m.Name, err)
			}
			r.tables[ty.Name()] = t
			r.types = append(r.types, t)
		}
		r.mods[m.Name] = m
		r.order = append(r.order, m.Name)
	}
	if err := checkRefs(r); err != nil {
		return err
	}
	s.reg.Store(r)
	return nil
}

// hook attaches what the store does after each write of t's records:
// its rollups, then the type's AfterWrite.
func (s *Store) hook(t *table) error {
	o := t.ty.Options()
	if o.TimelineAt != "" {
		if col := t.c.byName[o.TimelineAt]; col == nil || col.kind != kTime {
			return fmt.Errorf("%s: TimelineAt %q is not a time field", t.rt, o.TimelineAt)
		}
	}
	if o.TimelineField != "" {
		if col := t.c.byName[o.TimelineField]; col == nil || col.kind != kString {
			return fmt.Errorf("%s: TimelineField %q is not a string field", t.rt, o.TimelineField)
		}
	}
	for _, ru := range o.Rollups {
		f, err := s.rollupHook(t.c, ru)
		if err != nil {
			return err
		}
		t.c.after = append(t.c.after, f)
	}
	if o.AfterWrite != nil {
		t.c.after = append(t.c.after, func(ctx context.Context, prev, next reflect.Value) error {
			return o.AfterWrite(ctx, s, recordOf(prev), recordOf(next))
		})
	}
	return nil
}

// recordOf returns the record v holds, or nil for the zero Value.
func recordOf(v reflect.Value) storage.Record {
	if !v.IsValid() {
		return nil
	}
	return v.Interface().(storage.Record)
}

// Table implements storage.Tables.
func (s *Store) Table(recordType string) (storage.RecordTable, bool) {
	t, ok := s.table(recordType)
	if !ok {
		return nil, false
	}
	return t, true
}

// table returns the table of recordType.
func (s *Store) table(recordType string) (*table, bool) {
	t, ok := s.reg.Load().tables[recordType]
	return t, ok
}

// codec returns the codec of recordType, or nil.
func (s *Store) codec(recordType string) *codec {
	if t, ok := s.table(recordType); ok {
		return t.c
	}
	return nil
}

// codecs returns the codecs of every registered record type, in
// registration order.
func (s *Store) codecs() []*codec {
	r := s.reg.Load()
	out := make([]*codec, len(r.types))
	for i, t := range r.types {
		out[i] = t.c
	}
	return out
}

// Types implements storage.Tables.
func (s *Store) Types() []storage.RecordType { return s.reg.Load().Types() }

// Modules returns the registered modules, in registration order.
func (s *Store) Modules() []storage.Module {
	r := s.reg.Load()
	out := make([]storage.Module, len(r.order))
	for i, n := range r.order {
		out[i] = r.mods[n]
	}
	return out
}
