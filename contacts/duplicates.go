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
	// "name+company" / "name+domain".
	Rule string
}

// DuplicateOptions tune FindDuplicates.
type DuplicateOptions struct {
	// Threshold is the Jaro-Winkler similarity of full names (0–1) at which
	// two contacts of the same company or email domain match; default 0.9.
	Threshold float64
	// KeyField, when set, is a custom field holding an external ID: equal
	// values match exactly.
	KeyField string
}

// FindDuplicates scans the workspace for likely duplicate contacts, by
// blocking keys rather than by comparing every pair: exact rules (a
// primary or secondary email shared, a phone number shared, an equal
// external ID) and a fuzzy one (full names with a Jaro-Winkler similarity
// of at least Threshold, compared only within the same account or the same
// email domain). Each pair is reported once, with its best rule.
func (s *Service) FindDuplicates(ctx context.Context, opts DuplicateOptions) ([]DuplicatePair, error) {
	if opts.Threshold <= 0 {
		opts.Threshold = 0.9
	}
	type entry struct {
		id, name string
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
	err := storage.Each(ctx, s.store.Contacts(), q, func(c *Contact) error {
		i := len(entries)
		entries = append(entries, entry{id: c.ID, name: foldName(c.Name())})
		for _, e := range append([]string{c.Email}, emailsOf(c)...) {
			if e != "" {
				add("email\x00"+e, i)
			}
		}
		for _, p := range c.Phones {
			add("phone\x00"+p.Number, i)
		}
		if opts.KeyField != "" {
			if v, ok := c.Custom[opts.KeyField].(string); ok && v != "" {
				add("custom."+opts.KeyField+"\x00"+v, i)
			}
		}
		if c.AccountID != "" {
			add("name+company\x00"+c.AccountID, i)
		} else if at := strings.LastIndexByte(c.Email, '@'); at > 0 {
			add("name+domain\x00"+c.Email[at+1:], i)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	best := map[[2]string]DuplicatePair{}
	for key, members := range blocks {
		rule, _, _ := strings.Cut(key, "\x00")
		fuzzy := rule == "name+company" || rule == "name+domain"
		for x := 0; x < len(members); x++ {
			for y := x + 1; y < len(members); y++ {
				a, b := entries[members[x]], entries[members[y]]
				score := 1.0
				if fuzzy {
					if score = JaroWinkler(a.name, b.name); score < opts.Threshold {
						continue
					}
				}
				k := [2]string{min(a.id, b.id), max(a.id, b.id)}
				if prev, ok := best[k]; !ok || score > prev.Score {
					best[k] = DuplicatePair{A: k[0], B: k[1], Score: score, Rule: rule}
				}
			}
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

func emailsOf(c *Contact) []string {
	out := make([]string, len(c.Emails))
	for i, e := range c.Emails {
		out[i] = e.Address
	}
	return out
}

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
// it is created: the same email, the same phone, or (within its account)
// a name of Jaro-Winkler similarity ≥ 0.9; best first. Only contacts the
// principal may read are reported.
func (cs *Contacts) Duplicates(ctx context.Context, in NewContact) ([]Candidate, error) {
	s := cs.s
	var out []Candidate
	seen := map[string]int{}
	add := func(c *Contact, score float64, rule string) {
		if i, ok := seen[c.ID]; ok {
			if score > out[i].Score {
				out[i].Score, out[i].Rule = score, rule
			}
			return
		}
		seen[c.ID] = len(out)
		out = append(out, Candidate{ContactID: c.ID, Name: c.Name(), Score: score, Rule: rule})
	}
	if e, err := NormalizeEmail(in.Email); err == nil {
		page, err := s.store.Contacts().List(ctx, storage.ListQuery{Filter: storage.Eq("email", e), PageQuery: storage.PageQuery{Limit: 10}})
		if err != nil {
			return nil, err
		}
		for _, c := range page.Items {
			add(c, 1, "email")
		}
	}
	for _, p := range in.Phones {
		num, err := NormalizePhone(p.Number, s.opts.DefaultRegion)
		if err != nil {
			continue
		}
		hits, err := s.store.Search(ctx, storage.SearchQuery{Text: num, Types: []string{ObjectContact}, Limit: 10})
		if err != nil {
			return nil, err
		}
		for _, h := range hits {
			c, err := s.store.Contacts().Get(ctx, h.Ref.ID)
			if err != nil {
				return nil, err
			}
			if slices.ContainsFunc(c.Phones, func(x Phone) bool { return x.Number == num }) {
				add(c, 1, "phone")
			}
		}
	}
	if in.AccountID != "" {
		name := foldName((&Contact{FirstName: in.FirstName, MiddleName: in.MiddleName, LastName: in.LastName}).Name())
		q := storage.ListQuery{Filter: storage.Eq("account_id", in.AccountID), PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}
		if name != "" {
			err := storage.Each(ctx, s.store.Contacts(), q, func(c *Contact) error {
				if score := JaroWinkler(name, foldName(c.Name())); score >= 0.9 {
					add(c, score, "name+company")
				}
				return nil
			})
			if err != nil {
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
