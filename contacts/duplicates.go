package contacts

import (
	"context"
	"slices"
	"strings"
	"unicode"

	"github.com/crmkit/crm/storage"
)

// DuplicatePair is two contacts that are likely the same person.
type DuplicatePair struct {
	A, B string // contact IDs, A < B
	// Score is 1 for an exact rule, else the name similarity.
	Score float64
	// Rule is what matched: "email", "phone", "custom.<key>" or
	// "name+company" / "name+domain". Of several rules with the best
	// score, the first in that order.
	Rule string
}

// ruleRank orders the rules a pair can match by, for the one reported
// when several give the same score.
var ruleRank = []string{"email", "phone", "custom.", "name+company", "name+domain"}

func rank(rule string) int {
	for i, r := range ruleRank {
		if rule == r || strings.HasSuffix(r, ".") && strings.HasPrefix(rule, r) {
			return i
		}
	}
	return len(ruleRank)
}

// better reports whether a match by rule with score beats one by
// prevRule with prevScore: a higher score, else an earlier rule.
func better(score float64, rule string, prevScore float64, prevRule string) bool {
	if score != prevScore {
		return score > prevScore
	}
	return rank(rule) < rank(prevRule)
}

// DuplicateOptions tune one FindDuplicates call; the zero value applies
// the workspace's duplicate rules as they are.
type DuplicateOptions struct {
	// Rules, when set, are used instead of the workspace's duplicate
	// rules (Contacts.DuplicateRules).
	Rules *DuplicateRules
	// Threshold, when not 0, is the fuzzy rule's Jaro-Winkler similarity
	// (0–1] instead of the rules'.
	Threshold float64
	// KeyField, when set, is the custom field holding an external ID
	// instead of the rules' (equal values match exactly).
	KeyField string
}

// rules returns the duplicate rules a call applies: opts over the
// workspace's. The rules given in opts are checked, as a save checks them.
func (s *Service) rules(ctx context.Context, opts DuplicateOptions) (*DuplicateRules, error) {
	var r DuplicateRules
	if opts.Rules != nil {
		r = *opts.Rules
	} else {
		stored, err := s.duplicateRules(ctx)
		if err != nil {
			return nil, err
		}
		r = *stored
	}
	if opts.Threshold != 0 {
		r.Threshold = opts.Threshold
	}
	if opts.KeyField != "" {
		r.KeyField = opts.KeyField
	}
	if opts.Rules != nil || opts.Threshold != 0 || opts.KeyField != "" {
		var ck checker
		s.checkRules(ctx, &ck, &r)
		if err := ck.Err(); err != nil {
			return nil, err
		}
	}
	return &r, nil
}

// FindDuplicates scans the workspace for likely duplicate contacts by the
// workspace's duplicate rules (Contacts.DuplicateRules; opts override
// them for this call), by blocking keys rather than by comparing every
// pair: the exact rules (a primary or secondary email shared, a phone
// number shared, an equal external ID) match outright, and the fuzzy one
// compares full names by Jaro-Winkler similarity only within an account
// or an email domain (not a free mail provider's), as the rules' scope
// says. Each pair is reported once, with its best rule; best first.
// Errors: opts that fail the rules' checks are a *storage.ValidationError.
func (s *Service) FindDuplicates(ctx context.Context, opts DuplicateOptions) ([]DuplicatePair, error) {
	rules, err := s.rules(ctx, opts)
	if err != nil {
		return nil, err
	}
	type entry struct {
		id, name, account string
	}
	var entries []entry
	blocks := map[string][]int{} // blocking key → entries
	add := func(key string, i int) {
		// Entries arrive in order, so a repeat of i is the block's last one.
		if l := blocks[key]; key != "" && (len(l) == 0 || l[len(l)-1] != i) {
			blocks[key] = append(l, i)
		}
	}
	q := storage.ListQuery{PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}
	err = storage.Each(ctx, s.t.contacts, q, func(c *Contact) error {
		i := len(entries)
		entries = append(entries, entry{id: c.ID, name: foldName(c.Name()), account: c.AccountID})
		if rules.Email {
			for _, e := range append([]string{c.Email}, emailsOf(c)...) {
				if e != "" {
					add("email\x00"+e, i)
				}
			}
		}
		if rules.Phone {
			for _, p := range c.Phones {
				add("phone\x00"+p.Number, i)
			}
		}
		if rules.KeyField != "" {
			if v, ok := c.Custom[rules.KeyField]; ok && !emptyValue(v) {
				add("custom."+rules.KeyField+"\x00"+keyString(v), i)
			}
		}
		if rules.accounts() && c.AccountID != "" {
			add("name+company\x00"+c.AccountID, i)
		}
		if d := emailDomain(c.Email); rules.domains() && d != "" && !FreeMailDomain(d) {
			add("name+domain\x00"+d, i)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	best := map[[2]string]DuplicatePair{}
	compare := func(members []int, rule string, fuzzy bool) {
		for x := 0; x < len(members); x++ {
			for y := x + 1; y < len(members); y++ {
				a, b := entries[members[x]], entries[members[y]]
				if rule == "name+domain" && rules.accounts() && a.account != "" && a.account == b.account {
					continue // compared in their account's block, whose rule ranks first
				}
				score := 1.0
				if fuzzy {
					if score = JaroWinkler(a.name, b.name); score < rules.Threshold {
						continue
					}
				}
				k := [2]string{min(a.id, b.id), max(a.id, b.id)}
				if prev, ok := best[k]; !ok || better(score, rule, prev.Score, prev.Rule) {
					best[k] = DuplicatePair{A: k[0], B: k[1], Score: score, Rule: rule}
				}
			}
		}
	}
	for key, block := range blocks {
		rule, _, _ := strings.Cut(key, "\x00")
		if rule != "name+company" && rule != "name+domain" {
			compare(block, rule, false)
			continue
		}
		for _, members := range splitBlock(block, 0, func(i int) string { return entries[i].name }) {
			compare(members, rule, true)
		}
	}
	out := make([]DuplicatePair, 0, len(best))
	for _, p := range best {
		out = append(out, p)
	}
	slices.SortFunc(out, func(x, y DuplicatePair) int {
		if x.Score != y.Score {
			if x.Score > y.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(x.A+x.B, y.A+y.B)
	})
	return out, nil
}

// maxBlock is the most contacts the fuzzy rule compares pairwise: a
// larger account or email domain is split by splitBlock.
const maxBlock = 2000

// splitBlock splits the members of a fuzzy block larger than maxBlock
// into groups whose names (name(i)) share their first depth+1 runes, and
// so on, until each group is small enough, so that a domain of many
// thousands of contacts costs a bounded number of comparisons. Names that
// differ within those first runes are not compared then: the price of a
// scan that ends.
func splitBlock(members []int, depth int, name func(int) string) [][]int {
	if len(members) <= maxBlock || depth >= 16 {
		return [][]int{members}
	}
	byRune := map[rune][]int{}
	var order []rune
	for _, m := range members {
		r := rune(-1) // a name shorter than depth+1 runes
		if rs := []rune(name(m)); depth < len(rs) {
			r = rs[depth]
		}
		if _, ok := byRune[r]; !ok {
			order = append(order, r)
		}
		byRune[r] = append(byRune[r], m)
	}
	var out [][]int
	for _, r := range order {
		out = append(out, splitBlock(byRune[r], depth+1, name)...)
	}
	return out
}

// emailsOf returns c's addresses besides the primary one.
func emailsOf(c *Contact) []string { return addresses(c.Emails) }

// foldName lower-cases a name and keeps its letters, digits and single
// spaces, for comparing.
func foldName(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		default:
			space = true
		}
	}
	return b.String()
}

// JaroWinkler returns the Jaro-Winkler similarity of a and b, from 0 (no
// likeness) to 1 (equal): the Jaro similarity (matching runes within a
// window of half the longer length, less half the transpositions), raised
// for a common prefix of up to 4 runes by 0.1 per rune.
func JaroWinkler(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	if len(ra) == 0 && len(rb) == 0 {
		return 1
	}
	if len(ra) == 0 || len(rb) == 0 {
		return 0
	}
	window := max(len(ra), len(rb))/2 - 1
	window = max(window, 0)
	ma, mb := make([]bool, len(ra)), make([]bool, len(rb))
	matches := 0
	for i, r := range ra {
		lo, hi := max(0, i-window), min(len(rb)-1, i+window)
		for j := lo; j <= hi; j++ {
			if !mb[j] && rb[j] == r {
				ma[i], mb[j] = true, true
				matches++
				break
			}
		}
	}
	if matches == 0 {
		return 0
	}
	trans, j := 0, 0
	for i := range ra {
		if !ma[i] {
			continue
		}
		for !mb[j] {
			j++
		}
		if ra[i] != rb[j] {
			trans++
		}
		j++
	}
	m := float64(matches)
	jaro := (m/float64(len(ra)) + m/float64(len(rb)) + (m-float64(trans)/2)/m) / 3
	prefix := 0
	for prefix < min(4, len(ra), len(rb)) && ra[prefix] == rb[prefix] {
		prefix++
	}
	return jaro + float64(prefix)*0.1*(1-jaro)
}

// Candidate is an existing contact a new one may duplicate.
type Candidate struct {
	ContactID string  `json:"contact_id"`
	Name      string  `json:"name"`
	Score     float64 `json:"score"`
	Rule      string  `json:"rule"` // as DuplicatePair.Rule
}

// Duplicates returns the contacts that in would likely duplicate, before
// it is created, by the workspace's duplicate rules
// (Contacts.DuplicateRules), best first:
//
//   - email: a contact whose primary email is one of in's addresses (by
//     the email index), or whose other addresses include one (through the
//     search index, checked against the contact);
//   - phone: a contact with one of in's phone numbers (through the search
//     index, checked against the contact's numbers);
//   - the external ID: a contact with in's value of the key field (no
//     index: a read of the workspace's contacts);
//   - fuzzy: a contact whose full name has a Jaro-Winkler similarity to
//     in's of at least the threshold, within in's account (by the account
//     index) or with the domain of in's primary email (no index: a read of
//     the workspace's contacts), as the rules' scope says.
//
// Only contacts the principal may read are reported. Lead capture asks
// it with a lead's email and phone.
func (cs *Contacts) Duplicates(ctx context.Context, in NewContact) ([]Candidate, error) {
	s := cs.s
	rules, err := s.duplicateRules(ctx)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	seen := map[string]int{}
	add := func(c *Contact, score float64, rule string) {
		if i, ok := seen[c.ID]; ok {
			if better(score, rule, out[i].Score, out[i].Rule) {
				out[i].Score, out[i].Rule = score, rule
			}
			return
		}
		seen[c.ID] = len(out)
		out = append(out, Candidate{ContactID: c.ID, Name: c.Name(), Score: score, Rule: rule})
	}
	// searched adds, as matched by rule, the contacts the search index
	// finds for text that match holds for. The text (an address, a
	// number) is searched as a phrase: as words its common parts
	// ("example", "com") matched every contact, all of them ranked, and
	// the 20 taken could miss the one that holds it.
	searched := func(text, rule string, match func(*Contact) bool) error {
		hits, err := s.store.Search(ctx, storage.SearchQuery{Text: text, Types: []string{ObjectContact}, Limit: 20, Match: storage.MatchPhrase})
		if err != nil || len(hits) == 0 {
			return err
		}
		ids := make([]string, len(hits))
		for i, h := range hits {
			ids[i] = h.Ref.ID
		}
		found, err := byID(ctx, s.t.contacts, ids)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if c := found[id]; c != nil && match(c) {
				add(c, 1, rule)
			}
		}
		return nil
	}
	if rules.Email {
		var emails []string
		for _, e := range append([]string{in.Email}, addresses(in.Emails)...) {
			if n, err := NormalizeEmail(e); err == nil && n != "" && !slices.Contains(emails, n) {
				emails = append(emails, n)
			}
		}
		if len(emails) > 0 {
			page, err := s.t.contacts.List(ctx, storage.ListQuery{Filter: storage.Cmp{Field: "email", Op: storage.OpIn, Value: emails},
				Sort: []storage.Sort{{Field: "email"}}, PageQuery: storage.PageQuery{Limit: 10}})
			if err != nil {
				return nil, err
			}
			for _, c := range page.Items {
				add(c, 1, "email")
			}
		}
		for _, e := range emails {
			if err := searched(e, "email", func(c *Contact) bool { return slices.Contains(emailsOf(c), e) }); err != nil {
				return nil, err
			}
		}
	}
	if rules.Phone {
		for _, p := range in.Phones {
			num, err := NormalizePhone(p.Number, s.opts.DefaultRegion)
			if err != nil {
				continue
			}
			err = searched(num, "phone", func(c *Contact) bool {
				return slices.ContainsFunc(c.Phones, func(x Phone) bool { return x.Number == num })
			})
			if err != nil {
				return nil, err
			}
		}
	}
	if v, ok := in.Custom[rules.KeyField]; rules.KeyField != "" && ok && !emptyValue(v) {
		field := "custom." + rules.KeyField
		page, err := s.t.contacts.List(ctx, storage.ListQuery{Filter: storage.Eq(field, v), PageQuery: storage.PageQuery{Limit: 10}})
		if err != nil {
			return nil, err
		}
		for _, c := range page.Items {
			add(c, 1, field)
		}
	}
	name := foldName((&Contact{FirstName: in.FirstName, MiddleName: in.MiddleName, LastName: in.LastName}).Name())
	similar := func(rule string, f storage.Filter, sort ...storage.Sort) error {
		q := storage.ListQuery{Filter: f, Sort: sort, PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}
		return storage.Each(ctx, s.t.contacts, q, func(c *Contact) error {
			if score := JaroWinkler(name, foldName(c.Name())); score >= rules.Threshold {
				add(c, score, rule)
			}
			return nil
		})
	}
	if name != "" && rules.accounts() && in.AccountID != "" {
		if err := similar("name+company", storage.Eq("account_id", in.AccountID)); err != nil {
			return nil, err
		}
	}
	if e, err := NormalizeEmail(in.Email); name != "" && rules.domains() && err == nil && e != "" {
		if d := emailDomain(e); !FreeMailDomain(d) {
			if err := similar("name+domain", storage.Cmp{Field: "email", Op: storage.OpEndsWith, Value: "@" + d}, storage.Sort{Field: "email"}); err != nil {
				return nil, err
			}
		}
	}
	slices.SortFunc(out, func(a, b Candidate) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return strings.Compare(a.ContactID, b.ContactID)
	})
	return out, nil
}

// addresses returns the addresses of list.
func addresses(list []EmailAddress) []string {
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.Address
	}
	return out
}
