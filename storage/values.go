package storage

import (
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxEmailLen is the longest email address accepted, in bytes (RFC 5321).
const MaxEmailLen = 254

// NormalizeEmail checks that in is one plain address (local part, @, a
// domain with a dot, at most MaxEmailLen characters) and returns it trimmed
// and lower-case. The error says what is wrong, quoting in.
func NormalizeEmail(in string) (string, error) {
	in = strings.TrimSpace(in)
	s := strings.ToLower(in)
	if s == "" {
		return "", fmt.Errorf("is empty")
	}
	if len(s) > MaxEmailLen {
		return "", fmt.Errorf("is longer than %d characters", MaxEmailLen)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", fmt.Errorf("%q is not a valid email address", in)
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	if at < 1 || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") ||
		strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", fmt.Errorf("%q is not a valid email address", in)
	}
	return s, nil
}

var keyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// ValidKey reports whether s is a key that names something in data and may
// appear in SQL text: lower-case letters, digits and underscores, starting
// with a letter, at most 64 characters. Custom field names and role names
// are keys.
func ValidKey(s string) bool { return keyRE.MatchString(s) }

// SafeCSVCell neutralises a cell of an exported CSV file that a
// spreadsheet would run as a formula (one starting with =, +, -, @, tab or
// carriage return) by putting a single quote before it. Plain numbers,
// negative ones included, stay as they are.
func SafeCSVCell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return s
	}
	return "'" + s
}

// Set replaces *dst with *src when src is not nil: the partial updates of
// the services' Update inputs, whose pointer fields are nil for "leave as
// is".
func Set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// TrimText trims *s and adds field to v when it is longer than max
// bytes.
func TrimText(v *ValidationError, field string, s *string, max int) {
	*s = strings.TrimSpace(*s)
	if len(*s) > max {
		v.Add(field, "is longer than %d characters", max)
	}
}

// CutText cuts s to at most n bytes, on a rune boundary: text that arrived
// (an inbound email, a social mention) is kept, shortened, rather than
// refused.
func CutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
