package storage

import (
	"context"
	"time"
)

// KPI is a key performance indicator a module offers: a documented
// formula over the workspace's records, computed in the store for a
// period as the context's member (so it covers what the member may read).
// Reports and dashboards reach every module's KPIs by name
// (reporting.Service.KPI); a module offers them as a KPIProvider.
type KPI struct {
	// Name identifies the KPI, such as "win_rate": a key, unique among
	// the modules'.
	Name string
	// Title is shown to people, such as "Win rate".
	Title string
	// Formula says what the figure is, in words and symbols, with the
	// fields it reads and how the period applies.
	Formula string
	// Unit is how the value reads: UnitRatio (0–1), UnitMoney (minor
	// units of Value's Group currency), UnitSeconds, UnitCount,
	// UnitMoneyPerDay or UnitScore.
	Unit string
	// Compute returns the KPI over [from, to) (zero bounds are open): one
	// value, or one per Group (a currency) where the figure is money.
	Compute func(ctx context.Context, from, to time.Time) ([]KPIValue, error)
}

// The units of KPI values.
const (
	UnitRatio       = "ratio"
	UnitMoney       = "money"
	UnitMoneyPerDay = "money_per_day"
	UnitSeconds     = "seconds"
	UnitCount       = "count"
	// UnitScore is a figure on a scale of its own, said in the KPI's
	// Formula: a net promoter score (−100–100), a mean rating (1–7).
	UnitScore = "score"
)

// KPIValue is one value of a KPI.
type KPIValue struct {
	// Group is what the value is for: a currency for money, a stage for
	// the KPIs per stage ("<pipeline id>/<stage key>"), else "".
	Group string `json:"group,omitempty"`
	// Label names Group for people where it is not a currency, such as
	// "Sales: Proposal".
	Label string `json:"label,omitempty"`
	// Value is the figure; Valid is false when there is none (no record
	// to compute it from, a zero denominator).
	Value float64 `json:"value"`
	Valid bool    `json:"valid"`
	// Count is how many records the figure is computed from.
	Count int64 `json:"count"`
}

// KPIProvider is a module's service that offers KPIs.
type KPIProvider interface {
	KPIs() []KPI
}

// FieldLabeler is a module's service that names the values of fields that
// are keys rather than records, such as a deal's stage (a key of its
// pipeline's stages): reports show those names beside the keys.
type FieldLabeler interface {
	// FieldLabels returns the names of values of field of recordType, by
	// value, from what the context's member may read; nil when it names
	// no such field.
	FieldLabels(ctx context.Context, recordType, field string, values []string) (map[string]string, error)
}
