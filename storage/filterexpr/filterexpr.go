// Package filterexpr is the expression language of crm's filters: a
// condition written in expr syntax (github.com/expr-lang/expr), such as
//
//	lifecycle == 'customer' && 'vip' in tags && created_at > daysAgo(30)
//
// is parsed and checked against a schema of typed fields, and compiled
// into two evaluators that agree: a storage.Filter tree, which the stores
// translate to parameterised SQL for lists over millions of rows, and an
// expr program, run in memory for single records (workflow conditions).
//
// Supported: comparisons (== != < <= > >=), && || !, and/or/not, in and
// not in with a list of literals, 'x' in tags (list membership), contains,
// startsWith, endsWith, == nil and != nil, bare bool fields, custom fields
// as custom.name, fields of a related record where the schema has them
// (account.industry, account.custom.tier: see Schema.Relate), and the date
// helpers now(), today(), daysAgo(n), daysFromNow(n), startOfMonth(),
// startOfYear() and date("2026-01-31"). All but now() are whole UTC days
// (daysAgo(30) is midnight 30 days ago), so a list filtered with them
// pages with stable cursors within a day; now() changes at every call.
//
// Missing values: a comparison with a value that is missing (a custom
// field the record lacks, a field of a related record the record does not
// have) is false, and so is its negation's operand: not (x == 1) is true
// when x is missing. "== nil" is true for a missing value, an empty text
// and an empty list. Both evaluators obey this; a differential test in
// storagetest holds them equal on SQLite and Postgres.
//
// Related records: in SQL the store reads the related record itself, as
// the context's principal may read it (one it may not read is missing, and
// a related field hidden from it is ErrForbidden). In memory the caller
// puts the related record in the Record under the relation's name, read
// the same way, such as contacts.Contacts.ExprRecord does.
package filterexpr

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"

	"github.com/crmkit/crm/storage"
)

// Type is the type of a field of a Schema.
type Type int

// The field types.
const (
	Text     Type = iota + 1 // a string
	Number                   // an int or float
	Bool                     // a bool
	Time                     // a time.Time
	TextList                 // a []string, such as tags
)

// String returns the type's name: "text", "number", "bool", "time" or "text list".
func (t Type) String() string {
	switch t {
	case Text:
		return "text"
	case Number:
		return "number"
	case Bool:
		return "bool"
	case Time:
		return "time"
	case TextList:
		return "text list"
	}
	return "unknown"
}

// Schema is the fields an expression may name, by name: stored names
// ("email"), custom fields as "custom.<name>", and fields of related records
// as "<relation>.<field>" ("account.industry", "account.custom.tier"; see
// Relate).
type Schema map[string]Type

// Relate adds to s the fields of related, the schema of the record that
// s's records refer to as name (a storage.Reference, such as a contact's
// "account"), as "<name>.<field>". Fields of records related to that one
// are left out: an expression reaches one record deep.
func (s Schema) Relate(name string, related Schema) {
	for f, t := range related {
		if _, _, rel := relation(f); !rel {
			s[name+"."+f] = t
		}
	}
}

// Own returns the fields of s that are the record's own, without those of
// related records: the schema for evaluators that have only the record.
func (s Schema) Own() Schema {
	out := Schema{}
	for f, t := range s {
		if _, _, rel := relation(f); !rel {
			out[f] = t
		}
	}
	return out
}

// relation splits the name of a related record's field ("account.industry")
// into the relation and the field; ok is false for the record's own fields,
// custom ones included.
func relation(field string) (rel, rest string, ok bool) {
	rel, rest, ok = strings.Cut(field, ".")
	if !ok || rel == "custom" {
		return "", "", false
	}
	return rel, rest, true
}

// isCustom reports whether field is a custom field, of the record or of a
// related one.
func isCustom(field string) bool {
	if _, rest, ok := relation(field); ok {
		field = rest
	}
	return strings.HasPrefix(field, "custom.")
}

// Limits bound what an expression may cost.
const (
	MaxSource = 4096 // bytes of source
	MaxNodes  = 200  // nodes of the parsed tree
	MaxDepth  = 32   // nesting
)

// Error is a fault of an expression, with where it is. It matches
// storage.ErrInvalid with errors.Is.
type Error struct {
	// Line and Column are 1-based; 0 when the fault has no position.
	Line, Column int
	Message      string
}

// Error formats the fault with its position.
func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: expression: %s", storage.ErrInvalid, e.Message)
	}
	return fmt.Sprintf("%s: expression: line %d, column %d: %s", storage.ErrInvalid, e.Line, e.Column, e.Message)
}

// Is reports whether target is storage.ErrInvalid.
func (e *Error) Is(target error) bool { return target == storage.ErrInvalid }

// As lets errors.As find a *storage.ValidationError in an expression's
// error, as in every other ErrInvalid: one field error, "expression", with
// the message and its position.
func (e *Error) As(target any) bool {
	p, ok := target.(**storage.ValidationError)
	if !ok {
		return false
	}
	reason := e.Message
	if e.Line != 0 {
		reason = fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Message)
	}
	*p = &storage.ValidationError{Fields: []storage.FieldError{{Field: "expression", Reason: reason}}}
	return true
}

// src is the source faults are located in, set by Compile.
func (c *checker) fault(n ast.Node, format string, args ...any) *Error {
	e := &Error{Message: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = position(c.src, n.Location().From)
	}
	return e
}

// position returns the 1-based line and column of the rune at offset.
func position(src string, offset int) (line, col int) {
	line, col = 1, 1
	i := 0
	for _, r := range src {
		if i == offset {
			break
		}
		i++
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// Expr is a checked expression.
type Expr struct {
	// Source is the expression as written.
	Source string
	root   node
	prog   *program
}

// node is the checked tree: the Filter of a given time, or the in-memory
// evaluation.
type node interface {
	filter(now time.Time) storage.Filter
}

type (
	andNode []node
	orNode  []node
	notNode struct{ n node }
	cmpNode struct {
		field string
		typ   Type
		op    storage.Op
		value value // a literal, a list of literals, or a date helper
		// rel and sub split a related record's field ("account",
		// "industry"), for the in-memory evaluator; set by program.write.
		rel, sub string
	}
)

// value is a literal or a date helper, resolved against now.
type value struct {
	lit    any // string, float64, bool, time.Time, []any
	helper string
	arg    int
}

func (v value) at(now time.Time) any {
	if v.helper == "" {
		return v.lit
	}
	return dateHelper(v.helper, v.arg, now)
}

func (a andNode) filter(now time.Time) storage.Filter {
	out := make(storage.And, len(a))
	for i, n := range a {
		out[i] = n.filter(now)
	}
	return out
}

func (o orNode) filter(now time.Time) storage.Filter {
	out := make(storage.Or, len(o))
	for i, n := range o {
		out[i] = n.filter(now)
	}
	return out
}

func (n notNode) filter(now time.Time) storage.Filter { return storage.Not{Filter: n.n.filter(now)} }

func (c cmpNode) filter(now time.Time) storage.Filter {
	if c.op == storage.OpIn && isCustom(c.field) {
		// Custom fields compare one value at a time.
		var or storage.Or
		for _, v := range c.value.lit.([]any) {
			or = append(or, storage.Cmp{Field: c.field, Op: storage.OpEq, Value: v})
		}
		return or
	}
	return storage.Cmp{Field: c.field, Op: c.op, Value: c.value.at(now)}
}

// Filter returns the expression as a filter tree for the stores, with the
// date helpers resolved at now.
func (e *Expr) Filter(now time.Time) storage.Filter { return e.root.filter(now) }

// Compile parses src and checks it against schema.
func Compile(src string, schema Schema) (*Expr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &Error{Message: "is empty"}
	}
	if len(src) > MaxSource {
		return nil, &Error{Message: fmt.Sprintf("is %d bytes long, more than the limit of %d", len(src), MaxSource)}
	}
	// Refuse deep nesting before the parser recurses into it.
	depth, maxd := 0, 0
	var quote rune // the quote of the string literal being read, or 0
	escaped := false
	for _, r := range src {
		switch {
		case quote != 0:
			switch {
			case escaped:
				escaped = false
			case r == '\\' && quote != '`': // a raw string has no escapes
				escaped = true
			case r == quote:
				quote = 0
			}
		case r == '\'' || r == '"' || r == '`':
			quote = r
		case r == '(' || r == '[':
			depth++
			maxd = max(maxd, depth)
		case r == ')' || r == ']':
			depth--
		}
	}
	if maxd > MaxDepth {
		return nil, &Error{Message: fmt.Sprintf("nests %d deep, more than the limit of %d", maxd, MaxDepth)}
	}
	tree, err := parser.Parse(src)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			return nil, &Error{Line: fe.Line, Column: fe.Column + 1, Message: fe.Message}
		}
		return nil, &Error{Message: firstLine(err.Error())}
	}
	count := 0
	ast.Find(tree.Node, func(ast.Node) bool { count++; return false })
	if count > MaxNodes {
		return nil, &Error{Message: fmt.Sprintf("has %d nodes, more than the limit of %d", count, MaxNodes)}
	}
	c := checker{schema: schema, src: src}
	root, err := c.cond(tree.Node, 0)
	if err != nil {
		return nil, err
	}
	prog, err := compileProgram(root)
	if err != nil {
		return nil, err
	}
	return &Expr{Source: src, root: root, prog: prog}, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

type checker struct {
	schema Schema
	src    string
}

// cond checks a boolean node.
func (c *checker) cond(n ast.Node, depth int) (node, error) {
	if depth > MaxDepth {
		return nil, c.fault(n, "nests too deep")
	}
	switch n := n.(type) {
	case *ast.BinaryNode:
		switch n.Operator {
		case "&&", "and", "||", "or":
			l, err := c.cond(n.Left, depth+1)
			if err != nil {
				return nil, err
			}
			r, err := c.cond(n.Right, depth+1)
			if err != nil {
				return nil, err
			}
			if n.Operator == "&&" || n.Operator == "and" {
				return andNode{l, r}, nil
			}
			return orNode{l, r}, nil
		case "not in":
			inner, err := c.cmp(&ast.BinaryNode{Operator: "in", Left: n.Left, Right: n.Right}, n)
			if err != nil {
				return nil, err
			}
			return notNode{inner}, nil
		}
		return c.cmp(n, n)
	case *ast.UnaryNode:
		if n.Operator == "!" || n.Operator == "not" {
			inner, err := c.cond(n.Node, depth+1)
			if err != nil {
				return nil, err
			}
			return notNode{inner}, nil
		}
	case *ast.IdentifierNode, *ast.MemberNode:
		name, typ, err := c.field(n)
		if err != nil {
			return nil, err
		}
		if typ != Bool {
			return nil, c.fault(n, "%s is %s, not a condition", name, typ)
		}
		return cmpNode{field: name, typ: Bool, op: storage.OpEq, value: value{lit: true}}, nil
	case *ast.BoolNode:
		if n.Value {
			return andNode{}, nil
		}
		return orNode{}, nil
	}
	return nil, c.fault(n, "%s is not a condition this language supports", describe(n))
}

func describe(n ast.Node) string {
	s := n.String()
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// field resolves an identifier, or a path of names (custom.tier,
// account.industry, account.custom.tier), against the schema.
func (c *checker) field(n ast.Node) (string, Type, error) {
	name, ok := path(n)
	if !ok {
		return "", 0, c.fault(n, "%s is not a field", describe(n))
	}
	typ, ok := c.schema[name]
	if !ok {
		return "", 0, c.fault(n, "unknown field %q", name)
	}
	return name, typ, nil
}

var cmpOps = map[string]storage.Op{"==": storage.OpEq, "!=": storage.OpNe, "<": storage.OpLt, "<=": storage.OpLe,
	">": storage.OpGt, ">=": storage.OpGe, "contains": storage.OpContains, "startsWith": storage.OpStartsWith,
	"endsWith": storage.OpEndsWith, "in": storage.OpIn}

var flipped = map[storage.Op]storage.Op{storage.OpLt: storage.OpGt, storage.OpLe: storage.OpGe, storage.OpGt: storage.OpLt,
	storage.OpGe: storage.OpLe, storage.OpEq: storage.OpEq, storage.OpNe: storage.OpNe}

func isField(n ast.Node) bool {
	_, ok := path(n)
	return ok
}

// maxPath is the most names a field's path has: relation, custom, name.
const maxPath = 3

// path returns the dotted name of an identifier or of a chain of member
// accesses by name (a.b.c), or false for anything else (calls, indexes,
// methods).
func path(n ast.Node) (string, bool) {
	var names []string
	for {
		switch m := n.(type) {
		case *ast.IdentifierNode:
			names = append(names, m.Value)
			if len(names) > maxPath {
				return "", false
			}
			slices.Reverse(names)
			return strings.Join(names, "."), true
		case *ast.MemberNode:
			prop, ok := m.Property.(*ast.StringNode)
			if !ok || m.Method || len(names) == maxPath {
				return "", false
			}
			names = append(names, prop.Value)
			n = m.Node
		default:
			return "", false
		}
	}
}

// cmp checks a comparison; at is the node errors point at.
func (c *checker) cmp(n *ast.BinaryNode, at ast.Node) (node, error) {
	op, ok := cmpOps[n.Operator]
	if !ok {
		return nil, c.fault(at, "operator %q is not supported", n.Operator)
	}
	left, right := n.Left, n.Right
	// 'vip' in tags: membership of a text list.
	if op == storage.OpIn && !isField(left) && isField(right) {
		name, typ, err := c.field(right)
		if err != nil {
			return nil, err
		}
		if typ != TextList {
			return nil, c.fault(at, "%s is %s; \"x in field\" needs a text list", name, typ)
		}
		v, err := c.literal(left, Text)
		if err != nil {
			return nil, err
		}
		return cmpNode{field: name, typ: typ, op: storage.OpContains, value: v}, nil
	}
	if !isField(left) && isField(right) {
		f, ok := flipped[op]
		if !ok {
			return nil, c.fault(at, "put the field on the left of %q", n.Operator)
		}
		op, left, right = f, right, left
	}
	name, typ, err := c.field(left)
	if err != nil {
		return nil, err
	}
	if _, isNil := right.(*ast.NilNode); isNil {
		switch op {
		case storage.OpEq:
			return cmpNode{field: name, typ: typ, op: storage.OpEmpty}, nil
		case storage.OpNe:
			return notNode{cmpNode{field: name, typ: typ, op: storage.OpEmpty}}, nil
		}
		return nil, c.fault(at, "nil can only be compared with == or !=")
	}
	switch op {
	case storage.OpIn:
		arr, ok := right.(*ast.ArrayNode)
		if !ok {
			return nil, c.fault(right, "in needs a list of values, such as ['a', 'b']")
		}
		if typ == TextList || typ == Bool {
			return nil, c.fault(at, "%s is %s; in is not supported on it", name, typ)
		}
		var list []any
		for _, el := range arr.Nodes {
			v, err := c.literal(el, typ)
			if err != nil {
				return nil, err
			}
			if v.helper != "" {
				return nil, c.fault(el, "date helpers are not allowed in a list")
			}
			list = append(list, v.lit)
		}
		return cmpNode{field: name, typ: typ, op: op, value: value{lit: list}}, nil
	case storage.OpContains, storage.OpStartsWith, storage.OpEndsWith:
		if typ != Text {
			return nil, c.fault(at, "%s is %s; %s needs a text field", name, typ, n.Operator)
		}
	case storage.OpLt, storage.OpLe, storage.OpGt, storage.OpGe:
		if typ != Number && typ != Time && typ != Text {
			return nil, c.fault(at, "%s is %s; it cannot be ordered", name, typ)
		}
		if typ == Text && isCustom(name) {
			// Stores order custom text by their own collation, not by bytes.
			return nil, c.fault(at, "custom text fields cannot be ordered; compare them with == or in")
		}
	default: // == !=
		if typ == TextList {
			return nil, c.fault(at, "%s is a text list; use 'x' in %s", name, name)
		}
	}
	v, err := c.literal(right, typ)
	if err != nil {
		return nil, err
	}
	return cmpNode{field: name, typ: typ, op: op, value: v}, nil
}

// helpers are the date helpers and their argument counts.
var helpers = map[string]int{"now": 0, "today": 0, "daysAgo": 1, "daysFromNow": 1, "startOfMonth": 0, "startOfYear": 0, "date": 1}

// literal checks that n is a literal (or a date helper) of type want.
func (c *checker) literal(n ast.Node, want Type) (value, error) {
	bad := func(got string) (value, error) {
		return value{}, c.fault(n, "%s is %s; the field is %s", describe(n), got, want)
	}
	switch n := n.(type) {
	case *ast.StringNode:
		if want != Text {
			return bad("text")
		}
		return value{lit: n.Value}, nil
	case *ast.IntegerNode:
		if want != Number {
			return bad("a number")
		}
		return value{lit: float64(n.Value)}, nil
	case *ast.FloatNode:
		if want != Number {
			return bad("a number")
		}
		return value{lit: n.Value}, nil
	case *ast.UnaryNode:
		if n.Operator == "-" {
			v, err := c.literal(n.Node, want)
			if err == nil {
				if f, ok := v.lit.(float64); ok {
					return value{lit: -f}, nil
				}
			}
			return v, err
		}
	case *ast.BoolNode:
		if want != Bool {
			return bad("a bool")
		}
		return value{lit: n.Value}, nil
	case *ast.CallNode, *ast.BuiltinNode:
		// expr parses some helpers (now, date) as its own builtins.
		var name string
		var args []ast.Node
		if call, ok := n.(*ast.CallNode); ok {
			id, ok := call.Callee.(*ast.IdentifierNode)
			if !ok {
				break
			}
			name, args = id.Value, call.Arguments
		} else {
			b := n.(*ast.BuiltinNode)
			name, args = b.Name, b.Arguments
		}
		argc, known := helpers[name]
		if !known {
			return value{}, c.fault(n, "unknown function %q", name)
		}
		if want != Time {
			return bad("a time")
		}
		if len(args) != argc {
			return value{}, c.fault(n, "%s takes %d argument(s)", name, argc)
		}
		if name == "date" {
			s, ok := args[0].(*ast.StringNode)
			if !ok {
				return value{}, c.fault(n, "date needs a text such as \"2026-01-31\"")
			}
			t, err := time.Parse(time.DateOnly, s.Value)
			if err != nil {
				return value{}, c.fault(n, "%q is not a date like 2026-01-31", s.Value)
			}
			return value{lit: t}, nil
		}
		v := value{helper: name}
		if argc == 1 {
			in, ok := args[0].(*ast.IntegerNode)
			if !ok || in.Value < 0 || in.Value > 100000 {
				return value{}, c.fault(n, "%s needs a whole number of days from 0 to 100000", name)
			}
			v.arg = in.Value
		}
		return v, nil
	}
	return value{}, c.fault(n, "%s is not a literal value", describe(n))
}

// dateHelper computes a date helper at now (UTC).
func dateHelper(name string, arg int, now time.Time) time.Time {
	now = now.UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch name {
	case "today":
		return day
	case "daysAgo":
		return day.AddDate(0, 0, -arg)
	case "daysFromNow":
		return day.AddDate(0, 0, arg)
	case "startOfMonth":
		return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	case "startOfYear":
		return time.Date(now.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return now
}
