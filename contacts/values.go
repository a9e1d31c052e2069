package contacts

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/crmkit/crm/storage"
	"github.com/nyaruka/phonenumbers"
)

// Length limits, in characters, checked on every write.
const (
	MaxNameLen  = 200                 // names, titles, labels and other one-line texts
	MaxEmailLen = storage.MaxEmailLen // an email address (RFC 5321)
	MaxTextLen  = 100000              // long texts: descriptions, activity bodies
	MaxTagLen   = 64                  // one tag
	MaxTags     = 100                 // tags on one record
	MaxListLen  = 50                  // emails, phones, addresses, profiles on one record
)

// EmailAddress is an additional email address of a contact.
type EmailAddress struct {
	// Address is the address, stored lower-case.
	Address string `json:"address"`
	// Label says what kind of address it is, such as "work" or "home".
	Label string `json:"label,omitempty"`
}

// Phone is a phone number, stored in E.164 form (+442071838750).
type Phone struct {
	// Number is the number; on write it may be in any form the phone
	// library understands for the service's default region, and it is stored
	// in E.164.
	Number string `json:"number"`
	// Label says what kind of number it is, such as "mobile" or "work".
	Label string `json:"label,omitempty"`
}

// Address is a postal address.
type Address struct {
	Label      string `json:"label,omitempty"`       // such as "billing", "shipping", "home"
	Street     string `json:"street,omitempty"`      // street and number, lines joined by newlines
	City       string `json:"city,omitempty"`        // city or town
	Region     string `json:"region,omitempty"`      // state, province or county
	PostalCode string `json:"postal_code,omitempty"` // postal or ZIP code
	Country    string `json:"country,omitempty"`     // ISO 3166-1 alpha-2 code, such as "GB"
}

// SocialProfile is a person's or company's profile on a social network.
type SocialProfile struct {
	// Network is the network's name, such as "linkedin" or "github".
	Network string `json:"network"`
	// Handle is the user name or profile URL.
	Handle string `json:"handle"`
}

// NormalizeEmail checks that s is a plain email address (no display name, a
// domain with a dot, at most MaxEmailLen characters) and returns it trimmed
// and lower-cased.
func NormalizeEmail(in string) (string, error) { return storage.NormalizeEmail(in) }

// NormalizePhone parses s as a phone number and returns it in E.164 form.
// A number without a leading + is read as a number of region (an ISO 3166-1
// alpha-2 code such as "US"); with region "" it must start with +.
func NormalizePhone(s, region string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("is empty")
	}
	if !strings.HasPrefix(s, "+") && region == "" {
		return "", fmt.Errorf("%q has no country code (start it with +, or set a default region)", s)
	}
	n, err := phonenumbers.Parse(s, strings.ToUpper(region))
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", fmt.Errorf("%q is not a valid phone number", s)
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// NormalizeDomain returns a company domain lower-cased, without scheme,
// "www.", port or path: "https://www.Example.com:8443/about" becomes
// "example.com".
func NormalizeDomain(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", nil
	}
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && isDigits(s[i+1:]) {
		s = s[:i]
	}
	s = strings.TrimPrefix(s, "www.")
	if len(s) > 253 || !strings.Contains(s, ".") || strings.ContainsAny(s, " @:") ||
		strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") {
		return "", fmt.Errorf("%q is not a domain name", s)
	}
	return s, nil
}

// isDigits reports whether s is one or more ASCII digits.
// freeMail are mail providers whose domain says nothing about the company.
var freeMail = []string{"gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com",
	"icloud.com", "me.com", "aol.com", "gmx.de", "gmx.net", "web.de", "proton.me", "protonmail.com", "mail.com", "yandex.ru"}

// FreeMailDomain reports whether domain (lower case) is a free mail
// provider's, such as gmail.com, whose addresses say nothing about the
// company a person works for.
func FreeMailDomain(domain string) bool { return slices.Contains(freeMail, domain) }

// emailDomain returns the domain of a normalised email address, or "".
func emailDomain(email string) string {
	if at := strings.LastIndexByte(email, '@'); at >= 0 {
		return email[at+1:]
	}
	return ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checker collects field errors while normalising an input.
type checker struct {
	storage.ValidationError
	failed error // a check that could not run, such as a storage error
}

// fail records an error that is not about the input: Err returns it, not
// a validation error.
func (c *checker) fail(err error) {
	if c.failed == nil {
		c.failed = err
	}
}

// Err returns the first check that could not run, else the validation
// error listing every bad field, else nil.
func (c *checker) Err() error {
	if c.failed != nil {
		return c.failed
	}
	return c.ValidationError.Err()
}

// text trims *s and checks it is valid UTF-8 of at most max characters.
func (c *checker) text(field string, s *string, max int) {
	*s = strings.TrimSpace(*s)
	if !utf8.ValidString(*s) {
		c.Add(field, "is not valid UTF-8")
		return
	}
	if n := utf8.RuneCountInString(*s); n > max {
		c.Add(field, "is %d characters long, more than the limit of %d", n, max)
	}
}

// oneOf checks that *s is one of allowed (or empty when empty is allowed).
func (c *checker) oneOf(field string, s string, allowEmpty bool, allowed ...string) {
	if s == "" && allowEmpty {
		return
	}
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	c.Add(field, "%q is not one of %s", s, strings.Join(allowed, ", "))
}

func (c *checker) listLen(field string, n int) bool {
	if n > MaxListLen {
		c.Add(field, "has %d entries, more than the limit of %d", n, MaxListLen)
		return false
	}
	return true
}

// email normalises *s, which may be empty unless required.
func (c *checker) email(field string, s *string, required bool) {
	if strings.TrimSpace(*s) == "" {
		*s = ""
		if required {
			c.Add(field, "is required")
		}
		return
	}
	v, err := NormalizeEmail(*s)
	if err != nil {
		c.Add(field, "%v", err)
		return
	}
	*s = v
}

func (c *checker) emails(field string, list []EmailAddress) []EmailAddress {
	if len(list) == 0 || !c.listLen(field, len(list)) {
		return nil
	}
	out := make([]EmailAddress, len(list))
	for i, e := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		c.email(f+".address", &e.Address, true)
		c.text(f+".label", &e.Label, MaxNameLen)
		out[i] = e
	}
	return out
}

func (c *checker) phones(field string, list []Phone, region string) []Phone {
	if len(list) == 0 || !c.listLen(field, len(list)) {
		return nil
	}
	out := make([]Phone, len(list))
	for i, p := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		n, err := NormalizePhone(p.Number, region)
		if err != nil {
			c.Add(f+".number", "%v", err)
		}
		p.Number = n
		c.text(f+".label", &p.Label, MaxNameLen)
		out[i] = p
	}
	return out
}

func (c *checker) addresses(field string, list []Address) []Address {
	if len(list) == 0 || !c.listLen(field, len(list)) {
		return nil
	}
	out := make([]Address, len(list))
	for i, a := range list {
		f := fmt.Sprintf("%s[%d].", field, i)
		c.text(f+"label", &a.Label, MaxNameLen)
		c.text(f+"street", &a.Street, 1000)
		c.text(f+"city", &a.City, MaxNameLen)
		c.text(f+"region", &a.Region, MaxNameLen)
		c.text(f+"postal_code", &a.PostalCode, 32)
		a.Country = strings.ToUpper(strings.TrimSpace(a.Country))
		if a.Country != "" && (len(a.Country) != 2 || a.Country[0] < 'A' || a.Country[0] > 'Z' || a.Country[1] < 'A' || a.Country[1] > 'Z') {
			c.Add(f+"country", "%q is not an ISO 3166-1 alpha-2 code", a.Country)
		}
		out[i] = a
	}
	return out
}

func (c *checker) profiles(field string, list []SocialProfile) []SocialProfile {
	if len(list) == 0 || !c.listLen(field, len(list)) {
		return nil
	}
	out := make([]SocialProfile, len(list))
	for i, p := range list {
		f := fmt.Sprintf("%s[%d].", field, i)
		p.Network = strings.ToLower(p.Network)
		c.text(f+"network", &p.Network, MaxNameLen)
		c.text(f+"handle", &p.Handle, 1000)
		if p.Network == "" {
			c.Add(f+"network", "is required")
		}
		if p.Handle == "" {
			c.Add(f+"handle", "is required")
		}
		out[i] = p
	}
	return out
}

// NormalizeTags trims and lower-cases tags, drops empty ones and repeats,
// and checks their length and count: "VIP" and "vip" are one tag.
func NormalizeTags(tags []string) ([]string, error) {
	var c checker
	out := c.tags("tags", tags)
	return out, c.Err()
}

func (c *checker) tags(field string, tags []string) []string {
	if len(tags) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(tags))
	out := make([]string, 0, len(tags))
	for i, t := range tags {
		c.text(fmt.Sprintf("%s[%d]", field, i), &t, MaxTagLen)
		t = strings.ToLower(t)
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	if len(out) > MaxTags {
		c.Add(field, "has %d tags, more than the limit of %d", len(out), MaxTags)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// id checks that *s is empty or a record ID.
func (c *checker) id(field, s string) {
	if s != "" && !storage.ValidID(s) {
		c.Add(field, "%q is not a record ID", s)
	}
}
