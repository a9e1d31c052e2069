package storage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/storage"
)

// fieldsOf returns the fields err lists, failing t unless err is a
// *storage.ValidationError that matches storage.ErrInvalid.
func fieldsOf(t *testing.T, err error) []storage.FieldError {
	t.Helper()
	if !errors.Is(err, storage.ErrInvalid) {
		t.Fatalf("error %v does not match ErrInvalid", err)
	}
	var ve *storage.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) holds no *ValidationError", err, err)
	}
	return ve.Fields
}

func TestPageSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		limit, want int
	}{
		{0, storage.DefaultLimit},
		{-1, storage.DefaultLimit},
		{-5000, storage.DefaultLimit},
		{1, 1},
		{storage.DefaultLimit + 1, storage.DefaultLimit + 1},
		{storage.MaxLimit, storage.MaxLimit},
		{storage.MaxLimit + 1, storage.MaxLimit},
		{1 << 40, storage.MaxLimit},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.limit), func(t *testing.T) {
			t.Parallel()
			if got := (storage.PageQuery{Limit: tc.limit, Cursor: "x"}).PageSize(); got != tc.want {
				t.Errorf("PageSize() with Limit %d = %d, want %d", tc.limit, got, tc.want)
			}
		})
	}
	if storage.DefaultLimit != 50 || storage.MaxLimit != 1000 {
		t.Errorf("limits are %d and %d, documented as 50 and 1000", storage.DefaultLimit, storage.MaxLimit)
	}
}

func TestValidationError(t *testing.T) {
	t.Parallel()
	t.Run("empty is no error", func(t *testing.T) {
		t.Parallel()
		var ve storage.ValidationError
		if err := ve.Err(); err != nil {
			t.Errorf("Err() of an empty ValidationError = %#v, want nil", err)
		}
		var nilPtr *storage.ValidationError
		if err := nilPtr.Err(); err != nil {
			t.Errorf("Err() of a nil *ValidationError = %#v, want nil", err)
		}
		if got, want := ve.Error(), "invalid input"; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	})
	t.Run("add formats reasons in order", func(t *testing.T) {
		t.Parallel()
		var ve storage.ValidationError
		ve.Add("email", "%q is not a valid email address", "ada@")
		ve.Add("tags[3]", "is %d characters long, more than the limit of %d", 70, 64)
		ve.Add("name", "is required")
		want := []storage.FieldError{
			{Field: "email", Reason: `"ada@" is not a valid email address`},
			{Field: "tags[3]", Reason: "is 70 characters long, more than the limit of 64"},
			{Field: "name", Reason: "is required"},
		}
		if diff := cmp.Diff(want, ve.Fields); diff != "" {
			t.Errorf("fields (-want +got):\n%s", diff)
		}
		err := ve.Err()
		if err != error(&ve) {
			t.Errorf("Err() = %v, want the ValidationError itself", err)
		}
		wantMsg := `invalid input: email: "ada@" is not a valid email address; tags[3]: is 70 characters long, more than the limit of 64; name: is required`
		if got := err.Error(); got != wantMsg {
			t.Errorf("Error() =\n%s\nwant\n%s", got, wantMsg)
		}
	})
	t.Run("merge prefixes names", func(t *testing.T) {
		t.Parallel()
		var ve storage.ValidationError
		ve.Add("name", "is required")
		inner := &storage.ValidationError{}
		inner.Add("city", "is too long")
		inner.Add("country", "is not a code")
		ve.Merge("addresses[1].", inner)
		ve.Merge("ignored.", nil)
		ve.Merge("", &storage.ValidationError{Fields: []storage.FieldError{{Field: "phone", Reason: "bad"}}})
		want := []storage.FieldError{
			{Field: "name", Reason: "is required"},
			{Field: "addresses[1].city", Reason: "is too long"},
			{Field: "addresses[1].country", Reason: "is not a code"},
			{Field: "phone", Reason: "bad"},
		}
		if diff := cmp.Diff(want, ve.Fields); diff != "" {
			t.Errorf("fields (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]storage.FieldError{{Field: "city", Reason: "is too long"}, {Field: "country", Reason: "is not a code"}}, inner.Fields); diff != "" {
			t.Errorf("Merge changed its argument (-want +got):\n%s", diff)
		}
	})
	t.Run("matches ErrInvalid only", func(t *testing.T) {
		t.Parallel()
		err := storage.Invalid("currency", "%q is not a code", "EURO")
		wrapped := fmt.Errorf("create account: %w", err)
		for _, e := range []error{err, wrapped} {
			if !errors.Is(e, storage.ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", e)
			}
			for _, other := range []error{storage.ErrNotFound, storage.ErrConflict, storage.ErrStale, storage.ErrForbidden} {
				if errors.Is(e, other) {
					t.Errorf("errors.Is(%v, %v) = true", e, other)
				}
			}
		}
		want := []storage.FieldError{{Field: "currency", Reason: `"EURO" is not a code`}}
		if diff := cmp.Diff(want, fieldsOf(t, wrapped)); diff != "" {
			t.Errorf("fields (-want +got):\n%s", diff)
		}
	})
	t.Run("JSON form", func(t *testing.T) {
		t.Parallel()
		b, err := json.Marshal(storage.Invalid("email", "is required"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(b), `{"fields":[{"field":"email","reason":"is required"}]}`; got != want {
			t.Errorf("JSON = %s, want %s", got, want)
		}
	})
}

func TestConflictError(t *testing.T) {
	t.Parallel()
	driver := errors.New("UNIQUE constraint failed: crm_contacts.email")
	tests := []struct {
		name    string
		err     *storage.ConflictError
		wantMsg string
	}{
		{"field", &storage.ConflictError{RecordType: "contact", Field: "email", Err: driver},
			"conflict: contact email is already in use"},
		{"no field", &storage.ConflictError{RecordType: "field_def", Err: driver},
			"conflict: field_def already exists"},
		{"no driver error", &storage.ConflictError{RecordType: "contact", Field: "email"},
			"conflict: contact email is already in use"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.err.Error(); got != tc.wantMsg {
				t.Errorf("Error() = %q, want %q", got, tc.wantMsg)
			}
			wrapped := fmt.Errorf("import row 3: %w", tc.err)
			if !errors.Is(wrapped, storage.ErrConflict) {
				t.Error("errors.Is(err, ErrConflict) = false")
			}
			if errors.Is(wrapped, storage.ErrInvalid) || errors.Is(wrapped, storage.ErrNotFound) {
				t.Error("a ConflictError matches another sentinel")
			}
			if got := errors.Is(wrapped, driver); got != (tc.err.Err != nil) {
				t.Errorf("errors.Is(err, driver error) = %t, want %t", got, tc.err.Err != nil)
			}
			if got := errors.Unwrap(tc.err); got != tc.err.Err {
				t.Errorf("Unwrap() = %v, want %v", got, tc.err.Err)
			}
			var ce *storage.ConflictError
			if !errors.As(wrapped, &ce) || ce != tc.err {
				t.Errorf("errors.As found %v, want the ConflictError", ce)
			}
		})
	}
}

func TestMoneyValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    storage.Money
		want []storage.FieldError // nil: valid
	}{
		{"zero", storage.Money{}, nil},
		{"euros", storage.Money{Amount: 123450, Currency: "EUR"}, nil},
		{"negative yen", storage.Money{Amount: -5, Currency: "JPY"}, nil},
		{"zero amount with currency", storage.Money{Currency: "KWD"}, nil},
		{"amount without currency", storage.Money{Amount: 100},
			[]storage.FieldError{{Field: "revenue.currency", Reason: "is required when an amount is set"}}},
		{"unknown code", storage.Money{Amount: 1, Currency: "ABC"},
			[]storage.FieldError{{Field: "revenue.currency", Reason: `"ABC" is not an ISO 4217 currency code`}}},
		{"lower-case code", storage.Money{Amount: 1, Currency: "eur"},
			[]storage.FieldError{{Field: "revenue.currency", Reason: `"eur" is not an ISO 4217 currency code`}}},
		{"not a code", storage.Money{Amount: 1, Currency: "EURO"},
			[]storage.FieldError{{Field: "revenue.currency", Reason: `"EURO" is not an ISO 4217 currency code`}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.m.Validate("revenue")
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if diff := cmp.Diff(tc.want, fieldsOf(t, err)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMoneyScaleAndString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		m     storage.Money
		scale int
		str   string
	}{
		{storage.Money{}, 2, "0"},
		{storage.Money{Amount: 123450, Currency: "EUR"}, 2, "EUR 1234.50"},
		{storage.Money{Amount: 5, Currency: "EUR"}, 2, "EUR 0.05"},
		{storage.Money{Amount: -5, Currency: "EUR"}, 2, "EUR -0.05"},
		{storage.Money{Amount: -123456, Currency: "USD"}, 2, "USD -1234.56"},
		{storage.Money{Currency: "EUR"}, 2, "EUR 0.00"},
		{storage.Money{Amount: 1234, Currency: "JPY"}, 0, "JPY 1234"},
		{storage.Money{Amount: -7, Currency: "JPY"}, 0, "JPY -7"},
		{storage.Money{Amount: 1234567, Currency: "KWD"}, 3, "KWD 1234.567"},
		{storage.Money{Amount: 7, Currency: "KWD"}, 3, "KWD 0.007"},
		{storage.Money{Amount: 1000, Currency: "KWD"}, 3, "KWD 1.000"},
		{storage.Money{Amount: 9223372036854775807, Currency: "EUR"}, 2, "EUR 92233720368547758.07"},
		{storage.Money{Amount: -9223372036854775808, Currency: "EUR"}, 2, "EUR -92233720368547758.08"},
		{storage.Money{Amount: 199, Currency: "ZZZ"}, 2, "ZZZ 1.99"}, // unknown code: scale 2
	}
	for _, tc := range tests {
		t.Run(tc.str, func(t *testing.T) {
			t.Parallel()
			if got := tc.m.Scale(); got != tc.scale {
				t.Errorf("%#v.Scale() = %d, want %d", tc.m, got, tc.scale)
			}
			if got := tc.m.String(); got != tc.str {
				t.Errorf("%#v.String() = %q, want %q", tc.m, got, tc.str)
			}
		})
	}
}

func TestMoneyIsZero(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		m    storage.Money
		want bool
	}{
		{storage.Money{}, true},
		{storage.Money{Currency: "EUR"}, false},
		{storage.Money{Amount: 1}, false},
	} {
		if got := tc.m.IsZero(); got != tc.want {
			t.Errorf("%#v.IsZero() = %t, want %t", tc.m, got, tc.want)
		}
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	const n = 2000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = storage.NewID()
	}
	seen := make(map[string]bool, n)
	for i, id := range ids {
		if !storage.ValidID(id) {
			t.Fatalf("NewID() = %q, not a valid ID", id)
		}
		if id != strings.ToLower(id) {
			t.Errorf("NewID() = %q, not lower-case", id)
		}
		if id[14] != '7' {
			t.Errorf("NewID() = %q, not a version 7 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewID() returned %q twice", id)
		}
		seen[id] = true
		if i > 0 && ids[i-1] >= id {
			t.Fatalf("ID %d %q does not sort after ID %d %q", i, id, i-1, ids[i-1])
		}
	}
}

func TestNewIDConcurrentlyUnique(t *testing.T) {
	t.Parallel()
	const workers, each = 8, 500
	var mu sync.Mutex
	var all []string
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			ids := make([]string, each)
			for i := range ids {
				ids[i] = storage.NewID()
			}
			mu.Lock()
			all = append(all, ids...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(all)
	if got := len(slices.Compact(all)); got != workers*each {
		t.Errorf("%d unique IDs of %d", got, workers*each)
	}
}

func TestValidID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    string
		want bool
	}{
		{storage.NewID(), true},
		{"01890a5d-ac96-774b-bcce-b302099a8057", true},
		{"", false},
		{"not-an-id", false},
		{"01890a5d-ac96-774b-bcce-b302099a805", false},   // one short
		{"01890a5d-ac96-774b-bcce-b302099a80577", false}, // one long
		{"01890a5dac96774bbccebb302099a80577aa", false},  // 36 characters, no dashes
		{"01890a5d-ac96-774b-bcce-b302099a805g", false},  // not hex
		{"{01890a5d-ac96-774b-bcce-b302099a8057}", false},
		{"urn:uuid:01890a5d-ac96-774b-bcce-b302099a8057", false},
		{"01890a5dac96774bbcceb302099a8057", false},     // 32 hex digits
		{"01890A5D-AC96-774B-BCCE-B302099A8057", false}, // upper-case: not canonical
	}
	for _, tc := range tests {
		if got := storage.ValidID(tc.s); got != tc.want {
			t.Errorf("ValidID(%q) = %t, want %t", tc.s, got, tc.want)
		}
	}
}

func TestScope(t *testing.T) {
	t.Parallel()
	bg := context.Background()
	tests := []struct {
		name                 string
		ctx                  context.Context
		workspace, actorWant string
	}{
		{"none", bg, storage.DefaultWorkspace, storage.SystemActor},
		{"workspace", storage.WithWorkspace(bg, "acme"), "acme", storage.SystemActor},
		{"actor", storage.WithActor(bg, "alice"), storage.DefaultWorkspace, "alice"},
		{"both", storage.WithActor(storage.WithWorkspace(bg, "acme"), "alice"), "acme", "alice"},
		{"empty values", storage.WithActor(storage.WithWorkspace(bg, ""), ""), storage.DefaultWorkspace, storage.SystemActor},
		{"innermost wins", storage.WithWorkspace(storage.WithWorkspace(bg, "a"), "b"), "b", storage.SystemActor},
		{"plain string keys do not count", context.WithValue(context.WithValue(bg, "workspace", "x"), "actor", "y"), //nolint:staticcheck // deliberately a string key
			storage.DefaultWorkspace, storage.SystemActor},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := storage.WorkspaceFrom(tc.ctx); got != tc.workspace {
				t.Errorf("WorkspaceFrom = %q, want %q", got, tc.workspace)
			}
			if got := storage.ActorFrom(tc.ctx); got != tc.actorWant {
				t.Errorf("ActorFrom = %q, want %q", got, tc.actorWant)
			}
		})
	}
	if storage.DefaultWorkspace != "default" || storage.SystemActor != "system" {
		t.Errorf("defaults are %q and %q, documented as \"default\" and \"system\"", storage.DefaultWorkspace, storage.SystemActor)
	}
}

func TestFilterHelpers(t *testing.T) {
	t.Parallel()
	if diff := cmp.Diff(storage.Filter(storage.Cmp{Field: "email", Op: storage.OpEq, Value: "a@b.c"}), storage.Eq("email", "a@b.c")); diff != "" {
		t.Errorf("Eq (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(storage.Filter(storage.Cmp{Field: "tags", Op: storage.OpContains, Value: "vip"}), storage.HasTag("vip")); diff != "" {
		t.Errorf("HasTag (-want +got):\n%s", diff)
	}
}

func TestEventChange(t *testing.T) {
	t.Parallel()
	e := storage.Event{Changes: []storage.Change{
		{Field: "email", New: json.RawMessage(`"a@b.c"`)},
		{Field: "custom.tier", Old: json.RawMessage(`"gold"`), New: json.RawMessage(`"silver"`)},
	}}
	got, ok := e.Change("custom.tier")
	if !ok {
		t.Fatal(`Change("custom.tier") found nothing`)
	}
	if diff := cmp.Diff(e.Changes[1], got); diff != "" {
		t.Errorf("Change (-want +got):\n%s", diff)
	}
	if c, ok := e.Change("phone"); ok || c.Field != "" {
		t.Errorf(`Change("phone") = %v, %t; want nothing`, c, ok)
	}
}
