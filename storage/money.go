package storage

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/currency"
)

// Money is an amount in integer minor units (cents for USD, yen for JPY) of an
// ISO 4217 currency. Money never uses floating point.
type Money struct {
	// Amount is the value in the currency's minor units.
	Amount int64 `bun:"amount" json:"amount"`
	// Currency is the ISO 4217 code, such as "EUR"; empty only for zero Money.
	Currency string `bun:"currency" json:"currency"`
}

// IsZero reports whether m is the zero Money (no amount, no currency).
func (m Money) IsZero() bool { return m.Amount == 0 && m.Currency == "" }

// Validate reports a *ValidationError naming field when the currency is not an
// ISO 4217 code, an amount has no currency, or the amount is beyond
// ±MaxAmount.
func (m Money) Validate(field string) error {
	if m.IsZero() {
		return nil
	}
	if m.Amount > MaxAmount || m.Amount < -MaxAmount {
		return Invalid(field+".amount", "%d is beyond ±%d minor units", m.Amount, int64(MaxAmount))
	}
	if m.Currency == "" {
		return Invalid(field+".currency", "is required when an amount is set")
	}
	if _, err := currency.ParseISO(m.Currency); err != nil || strings.ToUpper(m.Currency) != m.Currency {
		return Invalid(field+".currency", "%q is not an ISO 4217 currency code", m.Currency)
	}
	return nil
}

// MaxAmount bounds an amount of Money, in minor units (10 trillion in a
// currency of two decimals), so that the sums of reports, forecasts and
// summaries over millions of records stay within 64 bits.
const MaxAmount = 1e15

// Scale returns how many decimal places the currency's minor unit has
// (2 for EUR, 0 for JPY, 3 for KWD); 2 for an unknown code.
func (m Money) Scale() int {
	unit, err := currency.ParseISO(m.Currency)
	if err != nil {
		return 2
	}
	scale, _ := currency.Standard.Rounding(unit)
	return scale
}

// String formats m as "EUR 1234.50", with the currency's own scale.
func (m Money) String() string {
	if m.IsZero() {
		return "0"
	}
	scale := m.Scale()
	neg := m.Amount < 0
	a := uint64(m.Amount)
	if neg {
		a = -a // two's complement: right for math.MinInt64 too
	}
	s := strconv.FormatUint(a, 10)
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg {
		s = "-" + s
	}
	return fmt.Sprintf("%s %s", m.Currency, s)
}
