package crm

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// erasedText stands where erasure took the person out of a text.
const erasedText = "[erased]"

// scrubLinked takes the person ct out of the text of the records that
// link to it and that no module erases by its own rules (types whose
// PersonalData is None, such as tasks: a workflow rule may have written
// "Call {{.email}}" into one): each of its addresses, phone numbers and
// names becomes "[erased]", and the past events of the records changed are
// scrubbed. It returns how many records it changed.
func (c *CRM) scrubLinked(ctx context.Context, ct *contacts.Contact) (int, error) {
	re := personPattern(ct)
	if re == nil {
		return 0, nil
	}
	var ids []string
	for _, t := range c.store.Types() {
		o := t.Options()
		if !o.Personal.None || o.Access == storage.AccessConfig {
			continue
		}
		rt, _ := c.store.Table(t.Name())
		recs, err := storage.All(ctx, rt, storage.LinkedTo{Type: contacts.ObjectContact, ID: ct.ID})
		if err != nil {
			return 0, err
		}
		for _, rec := range recs {
			if !scrubStrings(reflect.ValueOf(rec).Elem(), re, false) {
				continue
			}
			id := rec.RecordMeta().ID
			_, err := storage.ModifyRecord(ctx, c.store, rt, id, 0, func(_ context.Context, next storage.Record) error {
				scrubStrings(reflect.ValueOf(next).Elem(), re, true)
				return nil
			}, storage.WithEventType(t.Name()+".scrubbed"))
			if err != nil {
				return 0, fmt.Errorf("%s %s: %w", t.Name(), id, err)
			}
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	return len(ids), c.store.ScrubEvents(ctx, ids...)
}

// personPattern returns what takes ct's identifiers out of a text,
// case-insensitively: its addresses and phone numbers (E.164, with or
// without the plus) anywhere, its names as whole words (letters and digits
// around them end a word, in any script). Nil when it has none.
func personPattern(ct *contacts.Contact) *scrubber {
	quote := func(ss []string) string {
		var alts []string
		for _, s := range ss {
			if s = strings.TrimSpace(s); len([]rune(s)) >= 2 {
				alts = append(alts, regexp.QuoteMeta(s))
			}
		}
		return strings.Join(alts, "|")
	}
	anywhere := []string{ct.Email}
	for _, e := range ct.Emails {
		anywhere = append(anywhere, e.Address)
	}
	for _, p := range ct.Phones {
		anywhere = append(anywhere, strings.TrimPrefix(p.Number, "+"))
	}
	var sc scrubber
	if alts := quote(anywhere); alts != "" {
		sc.anywhere = regexp.MustCompile(`(?i)\+?(?:` + alts + `)`)
	}
	full := strings.TrimSpace(ct.FirstName + " " + ct.LastName)
	if alts := quote([]string{full, ct.FirstName, ct.LastName}); alts != "" {
		sc.word = regexp.MustCompile(`(?i)(^|[^\pL\pN])(?:` + alts + `)($|[^\pL\pN])`)
	}
	if sc.anywhere == nil && sc.word == nil {
		return nil
	}
	return &sc
}

// scrubber finds a person's identifiers in texts and replaces them.
type scrubber struct{ anywhere, word *regexp.Regexp }

// MatchString reports whether s holds one of the identifiers.
func (sc *scrubber) MatchString(s string) bool {
	return sc.anywhere != nil && sc.anywhere.MatchString(s) || sc.word != nil && sc.word.MatchString(s)
}

// ReplaceAllString returns s with each identifier replaced by with.
func (sc *scrubber) ReplaceAllString(s, with string) string {
	if sc.anywhere != nil {
		s = sc.anywhere.ReplaceAllLiteralString(s, with)
	}
	if sc.word != nil {
		// Twice: a match takes the character after it, which may start
		// the next.
		for range 2 {
			s = sc.word.ReplaceAllString(s, "${1}"+strings.ReplaceAll(with, "$", "$$")+"${2}")
		}
	}
	return s
}

// scrubStrings replaces what re matches in the strings of v (a record's
// struct, walked through its fields, slices and maps; its Meta left
// alone) with erasedText when set, and reports whether any matched.
func scrubStrings(v reflect.Value, re *scrubber, set bool) bool {
	switch v.Kind() {
	case reflect.String:
		if !re.MatchString(v.String()) {
			return false
		}
		if set && v.CanSet() {
			v.SetString(re.ReplaceAllString(v.String(), erasedText))
		}
		return true
	case reflect.Pointer:
		return !v.IsNil() && scrubStrings(v.Elem(), re, set)
	case reflect.Interface:
		if v.IsNil() {
			return false
		}
		// What an interface holds cannot be changed in place: a scrubbed
		// copy takes its place.
		out, found := scrubAny(v.Interface(), re)
		if found && set && v.CanSet() {
			v.Set(reflect.ValueOf(out))
		}
		return found
	case reflect.Struct:
		found := false
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() || f.Type == reflect.TypeFor[storage.Meta]() {
				continue
			}
			found = scrubStrings(v.Field(i), re, set) || found
		}
		return found
	case reflect.Slice, reflect.Array:
		found := false
		for i := range v.Len() {
			found = scrubStrings(v.Index(i), re, set) || found
		}
		return found
	case reflect.Map:
		found := false
		for _, k := range v.MapKeys() {
			out, ok := scrubAny(v.MapIndex(k).Interface(), re)
			if ok {
				found = true
				if set {
					v.SetMapIndex(k, reflect.ValueOf(out).Convert(v.Type().Elem()))
				}
			}
		}
		return found
	}
	return false
}

// scrubAny returns a copy of x (a value of a map or an interface: text,
// lists and objects as JSON decodes them, or any other value) with re's
// matches replaced, and whether any matched.
func scrubAny(x any, re *scrubber) (any, bool) {
	switch x := x.(type) {
	case string:
		if !re.MatchString(x) {
			return x, false
		}
		return re.ReplaceAllString(x, erasedText), true
	case nil:
		return nil, false
	}
	// A copy to walk and set: the value inside x cannot be addressed.
	cp := reflect.New(reflect.TypeOf(x)).Elem()
	cp.Set(reflect.ValueOf(x))
	if k := cp.Kind(); k == reflect.Map || k == reflect.Slice {
		if cp.IsNil() {
			return x, false
		}
		// Maps and slices share their elements with x: copy them first.
		if k == reflect.Map {
			m := reflect.MakeMapWithSize(cp.Type(), cp.Len())
			for _, key := range cp.MapKeys() {
				m.SetMapIndex(key, cp.MapIndex(key))
			}
			cp = m
		} else {
			sl := reflect.MakeSlice(cp.Type(), cp.Len(), cp.Len())
			reflect.Copy(sl, cp)
			cp = sl
		}
	}
	if !scrubStrings(cp, re, true) {
		return x, false
	}
	return cp.Interface(), true
}
