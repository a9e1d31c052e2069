package storage_test

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmkit/crm/storage"
)

// A ValidationError collects every bad field of an input; Err turns it into
// an error only when it lists one.
func ExampleValidationError() {
	check := func(name, currency string) error {
		var ve storage.ValidationError
		if name == "" {
			ve.Add("name", "is required")
		}
		if err := (storage.Money{Amount: 100, Currency: currency}).Validate("revenue"); err != nil {
			var inner *storage.ValidationError
			errors.As(err, &inner)
			ve.Merge("account.", inner)
		}
		return ve.Err()
	}

	fmt.Println(check("Acme", "EUR"))
	err := check("", "EURO")
	fmt.Println(err)
	fmt.Println(errors.Is(err, storage.ErrInvalid))
	var ve *storage.ValidationError
	if errors.As(fmt.Errorf("import row 3: %w", err), &ve) {
		for _, f := range ve.Fields {
			fmt.Printf("%s: %s\n", f.Field, f.Reason)
		}
	}
	// Output:
	// <nil>
	// invalid input: name: is required; account.revenue.currency: "EURO" is not an ISO 4217 currency code
	// true
	// name: is required
	// account.revenue.currency: "EURO" is not an ISO 4217 currency code
}

// String writes an amount with its currency's own number of decimals.
func ExampleMoney_String() {
	for _, m := range []storage.Money{
		{Amount: 123450, Currency: "EUR"},
		{Amount: -99, Currency: "EUR"},
		{Amount: 1234, Currency: "JPY"},
		{Amount: 1234567, Currency: "KWD"},
		{},
	} {
		fmt.Printf("%-12s scale %d\n", m, m.Scale())
	}
	// Output:
	// EUR 1234.50  scale 2
	// EUR -0.99    scale 2
	// JPY 1234     scale 0
	// KWD 1234.567 scale 3
	// 0            scale 2
}

// A filter is a tree of And, Or, Not and Cmp nodes; an adapter turns it into
// SQL, and the expression language compiles to the same tree.
func ExampleAnd() {
	// Leads or VIPs created in 2026, without a test email.
	f := storage.And{
		storage.Or{storage.Eq("lifecycle", "lead"), storage.HasTag("vip")},
		storage.Cmp{Field: "created_at", Op: storage.OpGe, Value: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		storage.Not{Filter: storage.Cmp{Field: "email", Op: storage.OpEndsWith, Value: "@test.example"}},
		storage.Cmp{Field: "custom.tier", Op: storage.OpIn, Value: []string{"gold", "silver"}},
	}
	fmt.Println(render(f))
	// Output:
	// ((lifecycle == "lead" OR tags contains "vip") AND created_at >= 2026-01-01 AND NOT email endsWith "@test.example" AND custom.tier in ["gold" "silver"])
}

// render writes a filter tree as text.
func render(f storage.Filter) string {
	join := func(fs []storage.Filter, sep string) string {
		parts := make([]string, len(fs))
		for i, f := range fs {
			parts[i] = render(f)
		}
		return "(" + strings.Join(parts, sep) + ")"
	}
	switch f := f.(type) {
	case storage.And:
		return join(f, " AND ")
	case storage.Or:
		return join(f, " OR ")
	case storage.Not:
		return "NOT " + render(f.Filter)
	case storage.Cmp:
		switch v := f.Value.(type) {
		case time.Time:
			return fmt.Sprintf("%s %s %s", f.Field, f.Op, v.Format(time.DateOnly))
		default:
			return fmt.Sprintf("%s %s %q", f.Field, f.Op, v)
		}
	}
	return fmt.Sprintf("%T", f)
}

// IDs are UUIDv7 strings made by the library: they sort by creation time.
func ExampleNewID() {
	a := storage.NewID()
	b := storage.NewID()
	fmt.Println(len(a), storage.ValidID(a))
	fmt.Println("sorts after:", b > a)
	fmt.Println(storage.ValidID("42"))
	// Output:
	// 36 true
	// sorts after: true
	// false
}

// A ConflictError names the unique field a write collided on and matches
// ErrConflict; the driver's error stays reachable for logging.
func ExampleConflictError() {
	driver := errors.New("UNIQUE constraint failed: index 'crm_contacts_email_uq'")
	err := fmt.Errorf("create contact: %w", &storage.ConflictError{RecordType: "contact", Field: "email", Err: driver})

	fmt.Println(err)
	fmt.Println(errors.Is(err, storage.ErrConflict), errors.Is(err, driver))
	var ce *storage.ConflictError
	if errors.As(err, &ce) {
		fmt.Println("taken:", ce.Field)
	}
	// Output:
	// create contact: conflict: contact email is already in use
	// true true
	// taken: email
}
