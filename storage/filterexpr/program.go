package filterexpr

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/crmkit/crm/storage"
)

// Record is a record as the in-memory evaluator reads it: field name →
// value, with custom values under "custom" as a map[string]any. Values are
// strings (or string kinds), numbers, bools, time.Time and []string. A
// related record is a Record (or a map[string]any) under its relation's
// name, such as rec["account"] = RecordOf(account) for "account.industry";
// the caller fills it, with the related record as the principal may read
// it, and leaves it out when there is none (its fields are then missing).
type Record map[string]any

// program is the expr program of a checked tree: boolean glue over the
// comparisons, which run in Go with the package's missing-value rule. The
// glue is compiled once to check it; each pooled runner holds its own
// compiled copy whose function C reads the runner's record, so that a run
// costs no allocation and no reflection on an environment.
type program struct {
	src     string
	cmps    []cmpNode
	runners sync.Pool
}

// runner is one VM with its program and the record it is evaluating.
type runner struct {
	vm   vm.VM
	prog *vm.Program
	rec  Record
	now  time.Time
}

func compileProgram(root node) (*program, error) {
	p := &program{}
	var sb strings.Builder
	p.write(&sb, root)
	p.src = sb.String()
	r, err := p.newRunner()
	if err != nil {
		return nil, fmt.Errorf("filterexpr: compile: %w", err)
	}
	p.runners.Put(r)
	p.runners.New = func() any {
		r, err := p.newRunner()
		if err != nil {
			panic(err) // compiled once already; cannot fail
		}
		return r
	}
	return p, nil
}

// newRunner compiles the glue with C bound to a new runner.
func (p *program) newRunner() (*runner, error) {
	r := &runner{}
	prog, err := expr.Compile(p.src, expr.AsBool(), expr.DisableAllBuiltins(),
		expr.Function("C", func(params ...any) (any, error) {
			return p.cmps[params[0].(int)].eval(r.rec, r.now), nil
		}, new(func(int) bool)))
	if err != nil {
		return nil, err
	}
	r.prog = prog
	return r, nil
}

func (p *program) write(sb *strings.Builder, n node) {
	switch n := n.(type) {
	case andNode, orNode:
		parts := []node(nil)
		sep, empty := " && ", "true"
		if a, ok := n.(andNode); ok {
			parts = a
		} else {
			parts, sep, empty = n.(orNode), " || ", "false"
		}
		if len(parts) == 0 {
			sb.WriteString(empty)
			return
		}
		sb.WriteString("(")
		for i, c := range parts {
			if i > 0 {
				sb.WriteString(sep)
			}
			p.write(sb, c)
		}
		sb.WriteString(")")
	case notNode:
		sb.WriteString("!(")
		p.write(sb, n.n)
		sb.WriteString(")")
	case cmpNode:
		fmt.Fprintf(sb, "C(%d)", len(p.cmps))
		n.rel, n.sub, _ = relation(n.field)
		p.cmps = append(p.cmps, n)
	}
}

// Match evaluates the expression on rec, with the date helpers at now.
func (e *Expr) Match(rec Record, now time.Time) (bool, error) {
	p := e.prog
	r := p.runners.Get().(*runner)
	r.rec, r.now = rec, now
	out, err := r.vm.Run(r.prog, nil)
	r.rec = nil
	p.runners.Put(r)
	if err != nil {
		return false, err
	}
	return out.(bool), nil
}

// get returns the field's value in rec, or nil when it is missing.
func get(rec Record, field string) any {
	if key, ok := strings.CutPrefix(field, "custom."); ok {
		m, _ := rec["custom"].(map[string]any)
		return m[key]
	}
	return rec[field]
}

// related returns the related record v, or nil when there is none.
func related(v any) Record {
	switch v := v.(type) {
	case Record:
		return v
	case map[string]any:
		return v
	}
	return nil
}

// eval is one comparison under the missing-value rule.
func (c cmpNode) eval(rec Record, now time.Time) bool {
	var raw any
	if c.rel == "" {
		raw = get(rec, c.field)
	} else if r := related(rec[c.rel]); r != nil {
		raw = get(r, c.sub)
	}
	if t, ok := raw.(time.Time); ok && c.op != storage.OpEmpty && c.op != storage.OpIn {
		// Times compare without boxing: the common case of date filters.
		var want time.Time
		if c.value.helper != "" {
			want = dateHelper(c.value.helper, c.value.arg, now)
		} else if w, ok := c.value.lit.(time.Time); ok {
			want = w
		} else {
			return false
		}
		return ordered(c.op, storage.Truncate(t).Compare(storage.Truncate(want)))
	}
	v := norm(raw)
	if c.op == storage.OpEmpty {
		switch v := v.(type) {
		case nil:
			return true
		case string:
			return v == ""
		case []string:
			return len(v) == 0
		}
		return false
	}
	if v == nil {
		return false
	}
	want := norm(c.value.at(now))
	switch c.op {
	case storage.OpIn:
		for _, w := range want.([]any) {
			if compare(v, norm(w)) == 0 {
				return true
			}
		}
		return false
	case storage.OpContains:
		if list, ok := v.([]string); ok {
			for _, s := range list {
				if s == want {
					return true
				}
			}
			return false
		}
		s, ok := v.(string)
		return ok && strings.Contains(s, want.(string))
	case storage.OpStartsWith:
		s, ok := v.(string)
		return ok && strings.HasPrefix(s, want.(string))
	case storage.OpEndsWith:
		s, ok := v.(string)
		return ok && strings.HasSuffix(s, want.(string))
	}
	r := compare(v, want)
	if r == incomparable {
		return false
	}
	return ordered(c.op, r)
}

// ordered applies a comparison operator to the result of a comparison.
func ordered(op storage.Op, r int) bool {
	switch op {
	case storage.OpEq:
		return r == 0
	case storage.OpNe:
		return r != 0
	case storage.OpLt:
		return r < 0
	case storage.OpLe:
		return r <= 0
	case storage.OpGt:
		return r > 0
	case storage.OpGe:
		return r >= 0
	}
	return false
}

const incomparable = 2

// compare orders two normalised values of one type: -1, 0, 1, or
// incomparable.
func compare(a, b any) int {
	switch a := a.(type) {
	case string:
		if b, ok := b.(string); ok {
			return strings.Compare(a, b)
		}
	case float64:
		if b, ok := b.(float64); ok {
			switch {
			case a < b:
				return -1
			case a > b:
				return 1
			}
			return 0
		}
	case bool:
		if b, ok := b.(bool); ok {
			if a == b {
				return 0
			}
			return 1
		}
	case time.Time:
		if b, ok := b.(time.Time); ok {
			return a.Compare(b)
		}
	}
	return incomparable
}

// norm turns values into the evaluator's few types: string kinds into
// string, numbers into float64, times truncated as the stores keep them.
func norm(v any) any {
	switch v := v.(type) {
	case nil, string, float64, bool, []string, []any:
		return v
	case time.Time:
		return storage.Truncate(v)
	case int:
		return float64(v)
	case int64:
		return float64(v)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return rv.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint())
	case reflect.Float32:
		return rv.Float()
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.String {
			out := make([]string, rv.Len())
			for i := range out {
				out[i] = rv.Index(i).String()
			}
			return out
		}
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		return norm(rv.Elem().Interface())
	}
	return v
}
