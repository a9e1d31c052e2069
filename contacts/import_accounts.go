package contacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/crmkit/crm/storage"
)

// accountImportFields are the fields a column of an account import can map
// to, besides custom ones. "currency" is the ISO 4217 code of
// "annual_revenue", a decimal amount ("1,250,000.50").
var accountImportFields = []string{"name", "domain", "industry", "employees", "annual_revenue", "currency", "phone",
	"description", "owner_id", "team_id", "tags"}

// accountHeaders are the normalised headers of company exports (HubSpot's
// companies, Salesforce's accounts, spreadsheets) and their fields.
func accountHeaders() map[string]string {
	return headerNames(map[string][]string{
		"name":           {"name", "accountname", "companyname", "company", "organization", "organisation", "organizationname"},
		"domain":         {"domain", "website", "companydomainname", "websiteurl", "url", "companywebsite"},
		"industry":       {"industry", "sector"},
		"employees":      {"employees", "numberofemployees", "employeecount", "headcount"},
		"annual_revenue": {"annualrevenue", "revenue"},
		"currency":       {"currency", "annualrevenuecurrency", "currencycode", "currencyisocode"},
		"phone":          {"phone", "phonenumber", "telephone", "mainphone", "companyphone"},
		"description":    {"description", "about", "companydescription"},
		"tags":           {"tags", "labels"},
		"owner_id":       {"accountowner", "companyowner", "ownerid"},
	})
}

// ImportAccounts reads accounts from CSV and upserts them by domain
// ("https://www.example.com/" matches example.com) or by a custom
// external-ID field, as ImportContacts does contacts (see ImportCSV and
// ImportOptions). Headers are mapped automatically from company exports
// ("Company name", "Account Name", "Website", "Number of Employees",
// "Annual Revenue", …); an annual revenue needs a currency column, or an
// existing account's currency.
func (s *Service) ImportAccounts(ctx context.Context, r io.Reader, opts ImportOptions) (*ImportReport, error) {
	defs, err := s.Fields.List(ctx, ObjectAccount)
	if err != nil {
		return nil, err
	}
	fill := func(row ImportRow, a *Account) error {
		var v storage.ValidationError
		row.Each(func(f, cell string) {
			switch f {
			case "name":
				a.Name = cell
			case "domain":
				a.Domain = cell
			case "industry":
				a.Industry = cell
			case "employees":
				n, err := strconv.ParseInt(strings.NewReplacer(",", "", " ", "", "_", "").Replace(cell), 10, 64)
				if err != nil {
					v.Add("employees", "%q is not a whole number", cell)
				}
				a.Employees = n
			case "currency":
				a.AnnualRevenue.Currency = strings.ToUpper(cell)
			case "phone":
				a.Phone = cell
			case "description":
				a.Description = cell
			case "owner_id":
				a.OwnerID = cell
			case "team_id":
				a.TeamID = cell
			case "tags":
				a.Tags = SplitList(cell)
			}
		})
		if cell := row.Get("annual_revenue"); cell != "" {
			m, err := parseAmount(cell, a.AnnualRevenue.Currency)
			if err != nil {
				v.Add("annual_revenue", "%v", err)
			}
			a.AnnualRevenue = m
		}
		return v.Err()
	}
	write := func(ctx context.Context, row ImportRow, a, prev *Account) (*Account, error) {
		if err := fill(row, a); err != nil {
			return nil, err
		}
		var ck checker
		s.Accounts.normalize(ctx, &ck, a, prev)
		var was map[string]any
		if prev != nil {
			was = prev.Custom
		}
		a.Custom = s.customWith(&ck, defs, ObjectAccount, was, row.Custom, prev == nil)
		return a, ck.Err()
	}
	spec := ImportSpec[*Account]{
		Type:    ObjectAccount,
		Table:   s.t.accounts,
		Fields:  accountImportFields,
		Headers: accountHeaders(),
		Custom:  defs,
		Keys:    []string{"domain"},
		NormalizeKey: func(_, cell string) (string, error) {
			d, err := NormalizeDomain(cell)
			if err == nil && d == "" {
				err = storage.Invalid("domain", "is empty")
			}
			return d, err
		},
		KeyOf:    func(a *Account, _ string) string { return a.Domain },
		CustomOf: func(a *Account) map[string]any { return a.Custom },
		Columns:  map[string]string{"annual_revenue.currency": "currency"},
		Create: func(ctx context.Context, row ImportRow) (*Account, error) {
			return write(ctx, row, &Account{}, nil)
		},
		Update: func(ctx context.Context, row ImportRow, prev *Account) (*Account, error) {
			a := *prev
			return write(ctx, row, &a, prev)
		},
	}
	return ImportCSV(ctx, s.store, r, spec, opts)
}

// parseAmount reads a decimal amount ("1,250,000.50", "-3") as Money of
// currency, in its minor units; the amount may have no more decimals than
// the currency has. The currency itself is checked where the account is.
func parseAmount(cell, currency string) (storage.Money, error) {
	if currency == "" {
		return storage.Money{}, errors.New("needs a currency: map a column to currency")
	}
	m := storage.Money{Currency: currency}
	s := strings.NewReplacer(",", "", " ", "", "_", "").Replace(cell)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" {
		whole = "0"
	}
	if !isDigits(whole) || (frac != "" && !isDigits(frac)) {
		return storage.Money{}, fmt.Errorf("%q is not an amount", cell)
	}
	scale := m.Scale()
	if len(frac) > scale {
		return storage.Money{}, fmt.Errorf("%q has more decimals than the %d of %s", cell, scale, currency)
	}
	n, err := strconv.ParseInt(whole+frac+strings.Repeat("0", scale-len(frac)), 10, 64)
	if err != nil {
		return storage.Money{}, fmt.Errorf("%q is too large", cell)
	}
	if neg {
		n = -n
	}
	m.Amount = n
	return m, nil
}
