package marketing

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
)

// FormTarget is what a web form creates or updates.
type FormTarget string

// The form targets.
const (
	// FormLead captures a lead through sales lead capture (its duplicate
	// check: a lead with the same email is updated instead).
	FormLead FormTarget = "lead"
	// FormContact creates the contact, or updates the one with the same
	// email.
	FormContact FormTarget = "contact"
)

// FormField is one input of a web form.
type FormField struct {
	// Name is the input's name in the posted form: letters, digits, _ or -.
	Name string `json:"name"`
	// Label is what the form shows. Default: Name.
	Label string `json:"label,omitempty"`
	// Field is the field of the lead or contact it fills: first_name,
	// last_name, email, phone, job_title; for leads company and website;
	// for contacts department and custom.<name>.
	Field    string `json:"field"`
	Required bool   `json:"required,omitempty"`
}

// leadFields and contactFields are the fields a form may fill.
var (
	leadFields    = []string{"first_name", "last_name", "email", "phone", "job_title", "company", "website"}
	contactFields = []string{"first_name", "last_name", "email", "phone", "job_title", "department"}
)

// Form is a web form that captures leads or contacts: its fields, the
// list a sign-up joins (double opt-in when the list says so), and where a
// browser goes after posting. Package marketing/web serves it; the UTM
// parameters of the page it was posted from (hidden fields utm_source …)
// are kept with each post.
type Form struct {
	storage.Meta
	Name   string      `bun:"name,notnull" json:"name"`
	Target FormTarget  `bun:"target,notnull" json:"target"`
	Fields []FormField `bun:"fields" json:"fields"`
	// ListID subscribes the contact a post makes (a contact form only).
	ListID string `bun:"list_id,notnull" json:"list_id,omitempty"`
	// CampaignID credits the leads and contacts it makes to a campaign.
	CampaignID string `bun:"campaign_id,notnull" json:"campaign_id,omitempty"`
	// Source is the lead or contact source. Default "web form".
	Source string `bun:"source,notnull" json:"source"`
	// RedirectURL is where a browser goes after a post that is not
	// JSON; "" shows a thank-you page.
	RedirectURL string `bun:"redirect_url,notnull" json:"redirect_url,omitempty"`
	// Origins, when set, are the only sites (scheme://host[:port]) whose
	// pages may post the form.
	Origins []string `bun:"origins" json:"origins,omitempty"`
	OwnerID string   `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID  string   `bun:"team_id,notnull" json:"team_id,omitempty"`
}

// RecordType returns "web_form".
func (*Form) RecordType() string { return ObjectForm }

// FormPost is one accepted post of a web form: what was sent, and what it
// made. Its creation event (form_post.created) is the form event rules
// and scoring use.
type FormPost struct {
	storage.Meta
	FormID    string            `bun:"form_id,notnull" json:"form_id"`
	ContactID string            `bun:"contact_id,notnull" json:"contact_id,omitempty"`
	LeadID    string            `bun:"lead_id,notnull" json:"lead_id,omitempty"`
	Values    map[string]string `bun:"form_values" json:"values"`
	UTM       sales.UTM         `bun:"utm" json:"utm,omitzero"`
	At        time.Time         `bun:"at,notnull" json:"at"`
}

// RecordType returns "form_post".
func (*FormPost) RecordType() string { return ObjectFormPost }

// Links returns the form and what the post made.
func (p *FormPost) Links() []storage.Ref {
	refs := []storage.Ref{{Type: ObjectForm, ID: p.FormID}}
	if p.ContactID != "" {
		refs = append(refs, storage.Ref{Type: contacts.ObjectContact, ID: p.ContactID})
	}
	if p.LeadID != "" {
		refs = append(refs, storage.Ref{Type: sales.ObjectLead, ID: p.LeadID})
	}
	return refs
}

// NewForm is the input of Forms.Create.
type NewForm struct {
	Name            string
	Target          FormTarget // default lead
	Fields          []FormField
	ListID          string
	CampaignID      string
	Source          string
	RedirectURL     string
	Origins         []string
	OwnerID, TeamID string
}

// Forms manages web forms and takes their posts.
type Forms struct{ s *Service }

// Create adds a form. It needs an email field (required), fields of the
// target's, and a list only on a contact form.
func (fs *Forms) Create(ctx context.Context, in NewForm) (*Form, error) {
	f := &Form{Name: in.Name, Target: in.Target, Fields: in.Fields, ListID: in.ListID, CampaignID: in.CampaignID,
		Source: in.Source, RedirectURL: in.RedirectURL, Origins: in.Origins, OwnerID: in.OwnerID, TeamID: in.TeamID}
	if f.Target == "" {
		f.Target = FormLead
	}
	if f.Source == "" {
		f.Source = "web form"
	}
	err := fs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		if err := fs.check(ctx, f); err != nil {
			return err
		}
		return fs.s.t.forms.Insert(ctx, f)
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Get returns the form with id.
func (fs *Forms) Get(ctx context.Context, id string) (*Form, error) { return fs.s.t.forms.Get(ctx, id) }

// URL returns where the form is posted (and shown): a signed link under
// Options.BaseURL, for the form's action attribute or an iframe.
func (fs *Forms) URL(ctx context.Context, id string) (string, error) {
	if fs.s.opts.BaseURL == "" || len(fs.s.opts.Key) < MinKeyLen {
		return "", storage.Invalid("base_url", "forms need marketing.Options.BaseURL and Key")
	}
	if _, err := fs.s.t.forms.Get(ctx, id); err != nil {
		return "", err
	}
	return fs.s.opts.BaseURL + "/f/" + fs.s.sign.Sign(tokenForm, storage.WorkspaceFrom(ctx), id), nil
}

func (fs *Forms) check(ctx context.Context, f *Form) error {
	var v storage.ValidationError
	storage.TrimText(&v, "name", &f.Name, MaxTextLen)
	if f.Name == "" {
		v.Add("name", "is required")
	}
	allowed := leadFields
	switch f.Target {
	case FormLead:
		if f.ListID != "" {
			v.Add("list_id", "a lead form subscribes no one: use a contact form")
		}
	case FormContact:
		allowed = contactFields
	default:
		v.Add("target", "%q is not lead or contact", f.Target)
	}
	email, names := false, map[string]bool{}
	for i := range f.Fields {
		fd := &f.Fields[i]
		at := fmt.Sprintf("fields[%d]", i)
		fd.Name, fd.Label, fd.Field = strings.TrimSpace(fd.Name), strings.TrimSpace(fd.Label), strings.TrimSpace(fd.Field)
		if !inputName(fd.Name) || reserved(fd.Name) {
			v.Add(at+".name", "%q must be letters, digits, _ or -, and not a utm_ or hidden field", fd.Name)
		} else if names[fd.Name] {
			v.Add(at+".name", "%q is used twice", fd.Name)
		}
		names[fd.Name] = true
		if fd.Label == "" {
			fd.Label = fd.Name
		}
		custom := f.Target == FormContact && strings.HasPrefix(fd.Field, "custom.") && storage.ValidKey(strings.TrimPrefix(fd.Field, "custom."))
		if !oneOf(fd.Field, allowed) && !custom {
			v.Add(at+".field", "%q is not a field a %s form fills (%s)", fd.Field, f.Target, strings.Join(allowed, ", "))
		}
		if fd.Field == "email" {
			email = true
			fd.Required = true
		}
	}
	if !email {
		v.Add("fields", "a form needs an email field")
	}
	if f.RedirectURL != "" && !trackable(f.RedirectURL) {
		v.Add("redirect_url", "%q is not an absolute http(s) URL", f.RedirectURL)
	}
	for i, o := range f.Origins {
		u, err := url.Parse(o)
		if err != nil || !trackable(o) || u.Path != "" && u.Path != "/" {
			v.Add(fmt.Sprintf("origins[%d]", i), "%q is not scheme://host[:port]", o)
		}
		f.Origins[i] = strings.TrimRight(o, "/")
	}
	for _, ref := range []struct {
		field, id string
		get       func(context.Context) error
	}{
		{"list_id", f.ListID, func(ctx context.Context) error { _, err := fs.s.t.lists.Get(ctx, f.ListID); return err }},
		{"campaign_id", f.CampaignID, func(ctx context.Context) error { _, err := fs.s.t.campaigns.Get(ctx, f.CampaignID); return err }},
	} {
		if ref.id != "" {
			if err := storage.CheckExists(ctx, &v, ref.field, ref.get); err != nil {
				return err
			}
		}
	}
	return v.Err()
}

// inputName reports whether s is a form input's name.
func inputName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// HoneypotField is the hidden input of every form that people leave empty
// and bots fill: a post with a value in it is dropped.
const HoneypotField = "website_url_hp"

// reserved reports the input names the handler uses itself.
func reserved(name string) bool {
	return strings.HasPrefix(name, "utm_") || name == HoneypotField
}

// Submission is what a post of a form did.
type Submission struct {
	// Spam says the post was dropped (the honeypot was filled): nothing
	// was written, and the poster is told it worked.
	Spam bool
	// Post is the stored post; ContactID or LeadID what it made or
	// updated.
	Post *FormPost
	// Subscription is the list subscription it made, if the form has a
	// list (unconfirmed on a double opt-in list).
	Subscription *Subscription
	// Form is the form posted.
	Form *Form
}

// Submit takes a post of the form a form token names (Forms.URL), with
// the posted values by input name. Bad values are a *ValidationError
// naming the inputs; nothing is written then. The honeypot filled is a
// Spam submission. The post acts as the system in the form's workspace.
func (fs *Forms) Submit(ctx context.Context, token string, values map[string][]string) (*Submission, error) {
	f, err := fs.s.sign.Verify(tokenForm, token)
	if err != nil || len(f) != 2 {
		return nil, storage.Invalid("token", "is not a form token of this service")
	}
	ctx = in(ctx, f[0])
	form, err := fs.s.t.forms.Get(ctx, f[1])
	if err != nil {
		return nil, err
	}
	out := &Submission{Form: form}
	first := func(k string) string {
		if vs := values[k]; len(vs) > 0 {
			return strings.TrimSpace(vs[0])
		}
		return ""
	}
	if first(HoneypotField) != "" {
		out.Spam = true
		return out, nil
	}
	var v storage.ValidationError
	got := map[string]string{}
	set := map[string]string{}
	for _, fd := range form.Fields {
		val := first(fd.Name)
		if len(val) > 4000 {
			v.Add(fd.Name, "is longer than 4000 characters")
		}
		if val == "" {
			if fd.Required {
				v.Add(fd.Name, "is required")
			}
			continue
		}
		if fd.Field == "email" {
			if a, err := mail.ParseAddress(val); err != nil || a.Address != val {
				v.Add(fd.Name, "%q is not an email address", val)
			}
		}
		got[fd.Name], set[fd.Field] = val, val
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	post := &FormPost{FormID: form.ID, Values: got, At: fs.s.now(), UTM: sales.UTM{Source: first("utm_source"),
		Medium: first("utm_medium"), Campaign: first("utm_campaign"), Term: first("utm_term"), Content: first("utm_content")}}
	err = fs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		switch form.Target {
		case FormLead:
			id, err := fs.lead(ctx, form, set, post.UTM)
			if err != nil {
				return err
			}
			post.LeadID = id
		case FormContact:
			c, err := fs.contact(ctx, form, set)
			if err != nil {
				return err
			}
			post.ContactID = c.ID
			if form.ListID != "" {
				sub, err := fs.s.Lists.Subscribe(ctx, form.ListID, c.ID, SubscribeOptions{Source: "web form " + form.Name})
				if err != nil {
					return err
				}
				out.Subscription = sub
			}
			if form.CampaignID != "" {
				if err := fs.s.Campaigns.respond(ctx, form.CampaignID, c.ID, MemberResponded); err != nil {
					return err
				}
			}
		}
		return fs.s.t.posts.Insert(ctx, post)
	})
	if err != nil {
		return nil, err
	}
	out.Post = post
	return out, nil
}

// lead captures the lead of a post, or updates the lead with its email.
func (fs *Forms) lead(ctx context.Context, form *Form, set map[string]string, utm sales.UTM) (string, error) {
	in := sales.NewLead{FirstName: set["first_name"], LastName: set["last_name"], Email: set["email"], Phone: set["phone"],
		JobTitle: set["job_title"], Company: set["company"], Website: set["website"], Source: form.Source, FormID: form.ID,
		Campaign: form.CampaignID, UTM: utm, OwnerID: form.OwnerID, TeamID: form.TeamID}
	l, err := fs.s.sales.Leads.Capture(ctx, in)
	var dup *sales.DuplicateError
	if !errors.As(err, &dup) {
		if err != nil {
			return "", err
		}
		return l.ID, nil
	}
	// The same person posting again: update their open lead; anyone else
	// that merely looks alike (a phone, a company) gets a lead of its own.
	for _, c := range dup.Candidates {
		if c.Ref.Type == sales.ObjectLead && c.Reason == "email" {
			up := sales.UpdateLead{}
			for k, p := range map[string]**string{"first_name": &up.FirstName, "last_name": &up.LastName, "phone": &up.Phone,
				"job_title": &up.JobTitle, "company": &up.Company} {
				if v, ok := set[k]; ok {
					*p = &v
				}
			}
			l, err := fs.s.sales.Leads.Update(ctx, c.Ref.ID, up)
			if errors.Is(err, storage.ErrConflict) {
				break // converted: a new lead
			}
			if err != nil {
				return "", err
			}
			return l.ID, nil
		}
	}
	in.AllowDuplicates = true
	l, err = fs.s.sales.Leads.Capture(ctx, in)
	if err != nil {
		return "", err
	}
	return l.ID, nil
}

// contact creates the contact of a post, or updates the one with its
// email (fields it sends replace those stored; the rest stay).
func (fs *Forms) contact(ctx context.Context, form *Form, set map[string]string) (*contacts.Contact, error) {
	email, err := contacts.NormalizeEmail(set["email"])
	if err != nil {
		return nil, storage.Invalid("email", "%v", err)
	}
	custom := map[string]any{}
	for k, v := range set {
		if name, ok := strings.CutPrefix(k, "custom."); ok {
			custom[name] = v
		}
	}
	var phones *[]contacts.Phone
	if p := set["phone"]; p != "" {
		phones = &[]contacts.Phone{{Number: p}}
	}
	page, err := fs.s.people.Contacts.List(ctx, storage.ListQuery{Filter: storage.Eq("email", email), PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil {
		return nil, err
	}
	str := func(k string) *string {
		if v, ok := set[k]; ok {
			return &v
		}
		return nil
	}
	if len(page.Items) == 1 {
		return fs.s.people.Contacts.Update(ctx, page.Items[0].ID, contacts.UpdateContact{FirstName: str("first_name"),
			LastName: str("last_name"), JobTitle: str("job_title"), Department: str("department"), Phones: phones, Custom: custom})
	}
	in := contacts.NewContact{FirstName: set["first_name"], LastName: set["last_name"], Email: email, JobTitle: set["job_title"],
		Department: set["department"], Source: form.Source, OwnerID: form.OwnerID, TeamID: form.TeamID, Custom: custom,
		Lifecycle: contacts.LifecycleSubscriber}
	if phones != nil {
		in.Phones = *phones
	}
	return fs.s.people.Contacts.Create(ctx, in)
}

// FormView is what a page showing a form needs.
type FormView struct {
	Form *Form
	// Action is where it posts (Forms.URL).
	Action string
}

// View returns the form a form token names, for rendering it.
func (fs *Forms) View(ctx context.Context, token string) (*FormView, error) {
	f, err := fs.s.sign.Verify(tokenForm, token)
	if err != nil || len(f) != 2 {
		return nil, storage.Invalid("token", "is not a form token of this service")
	}
	form, err := fs.s.t.forms.Get(in(ctx, f[0]), f[1])
	if err != nil {
		return nil, err
	}
	return &FormView{Form: form, Action: fs.s.opts.BaseURL + "/f/" + token}, nil
}

// Posts returns a page of a form's posts, oldest first.
func (fs *Forms) Posts(ctx context.Context, formID string, q storage.PageQuery) (storage.Page[*FormPost], error) {
	return fs.s.t.posts.List(ctx, storage.ListQuery{Filter: storage.Eq("form_id", formID), PageQuery: q})
}
