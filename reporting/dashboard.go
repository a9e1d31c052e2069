package reporting

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmkit/crm/reporting/chart"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/filterexpr"
)

// ObjectDashboard is the record type of dashboards.
const ObjectDashboard = "dashboard"

// MaxWidgets is how many widgets a dashboard holds at most.
const MaxWidgets = 24

// Range is a widget's date range, relative to the moment it renders, in
// the service's time zone.
type Range string

// The ranges. The zero Range is all time.
const (
	AllTime      Range = ""
	Last7Days    Range = "last_7_days"
	Last30Days   Range = "last_30_days"
	ThisMonth    Range = "this_month"
	LastMonth    Range = "last_month"
	ThisQuarter  Range = "this_quarter"
	ThisYear     Range = "this_year"
	Last12Months Range = "last_12_months"
)

// Bounds returns r's [from, to) at now in loc, and the period before it of
// the same length (a number widget's comparison); all time has none.
func (r Range) Bounds(now time.Time, loc *time.Location) (from, to, prevFrom time.Time, err error) {
	now = now.In(loc)
	y, m, d := now.Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, loc)
	switch r {
	case AllTime:
		return time.Time{}, time.Time{}, time.Time{}, nil
	case Last7Days:
		from, to = today.AddDate(0, 0, -6), today.AddDate(0, 0, 1)
		return from, to, from.AddDate(0, 0, -7), nil
	case Last30Days:
		from, to = today.AddDate(0, 0, -29), today.AddDate(0, 0, 1)
		return from, to, from.AddDate(0, 0, -30), nil
	case ThisMonth:
		from = time.Date(y, m, 1, 0, 0, 0, 0, loc)
		return from, from.AddDate(0, 1, 0), from.AddDate(0, -1, 0), nil
	case LastMonth:
		to = time.Date(y, m, 1, 0, 0, 0, 0, loc)
		return to.AddDate(0, -1, 0), to, to.AddDate(0, -2, 0), nil
	case ThisQuarter:
		from = time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, loc)
		return from, from.AddDate(0, 3, 0), from.AddDate(0, -3, 0), nil
	case ThisYear:
		from = time.Date(y, 1, 1, 0, 0, 0, 0, loc)
		return from, from.AddDate(1, 0, 0), from.AddDate(-1, 0, 0), nil
	case Last12Months:
		to = time.Date(y, m, 1, 0, 0, 0, 0, loc).AddDate(0, 1, 0)
		return to.AddDate(-1, 0, 0), to, to.AddDate(-2, 0, 0), nil
	}
	return time.Time{}, time.Time{}, time.Time{}, fmt.Errorf("%q is not a range (last_7_days, last_30_days, this_month, last_month, this_quarter, this_year, last_12_months, or empty for all time)", r)
}

// Widget is one panel of a dashboard: a chart of a report's rows, or a
// number (a KPI, or a report's one figure) with its change against the
// previous period.
type Widget struct {
	Title string     `json:"title"`
	Kind  chart.Kind `json:"kind"` // number, bar, line, pie, funnel, table
	// One source: a saved report, a report of the widget's own, or (for
	// a number) a KPI by name (Service.KPIs).
	ReportID string  `json:"report_id,omitempty"`
	Report   *Report `json:"report,omitempty"`
	KPI      string  `json:"kpi,omitempty"`
	// Measure names the report's measure a chart or number shows; "" is
	// the first.
	Measure string `json:"measure,omitempty"`
	// Range is the widget's date range (the report's DateField, the KPI's
	// period).
	Range Range `json:"range,omitempty"`
}

// Dashboard is a saved set of widgets, a record of the generic path.
type Dashboard struct {
	storage.Meta
	Name        string   `bun:"name,notnull" json:"name"`
	Description string   `bun:"description,notnull" json:"description,omitempty"`
	Widgets     []Widget `bun:"widgets" json:"widgets"`
	OwnerID     string   `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID      string   `bun:"team_id,notnull" json:"team_id,omitempty"`
}

// RecordType returns "dashboard".
func (*Dashboard) RecordType() string { return ObjectDashboard }

// SearchTitle returns the dashboard's name.
func (d *Dashboard) SearchTitle() string { return d.Name }

// SearchText returns the dashboard's name and description.
func (d *Dashboard) SearchText() string { return d.Name + " " + d.Description }

// Panel is one rendered widget.
type Panel struct {
	Widget Widget `json:"widget"`
	// From and To are the range the widget covered (zero: open).
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Result is a report widget's result; KPI a KPI widget's values.
	Result *Result            `json:"result,omitempty"`
	KPI    []storage.KPIValue `json:"kpi,omitempty"`
	// SVG is the widget drawn (package chart).
	SVG []byte `json:"-"`
	// Err says why the widget could not render (its report is not
	// readable, a field is hidden from the member…); the other widgets
	// still do.
	Err string `json:"error,omitempty"`
}

// Dashboards stores dashboards and renders them.
type Dashboards struct{ s *Service }

// Create checks in and stores it as a new dashboard.
func (ds *Dashboards) Create(ctx context.Context, in Dashboard) (*Dashboard, error) {
	d := in
	d.Meta = storage.Meta{}
	if err := ds.check(ctx, &d); err != nil {
		return nil, err
	}
	if err := ds.s.t.dashboards.Insert(ctx, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Get returns the dashboard with id, or ErrNotFound.
func (ds *Dashboards) Get(ctx context.Context, id string) (*Dashboard, error) {
	return ds.s.t.dashboards.Get(ctx, id)
}

// List returns one page of the dashboards the member may read.
func (ds *Dashboards) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Dashboard], error) {
	return ds.s.t.dashboards.List(ctx, q)
}

// Update replaces the dashboard with id by in (its Meta ignored), when it
// is still at version (0: whatever is stored).
func (ds *Dashboards) Update(ctx context.Context, id string, version int64, in Dashboard) (*Dashboard, error) {
	return storage.Modify(ctx, ds.s.store, ds.s.t.dashboards, id, version, func(ctx context.Context, d *Dashboard) error {
		meta := d.Meta
		*d = in
		d.Meta = meta
		return ds.check(ctx, d)
	})
}

// Delete removes the dashboard with id.
func (ds *Dashboards) Delete(ctx context.Context, id string) error {
	return storage.Remove(ctx, ds.s.store, ds.s.t.dashboards, id, 0, nil)
}

// check validates d, every widget's problem at once.
func (ds *Dashboards) check(ctx context.Context, d *Dashboard) error {
	var v storage.ValidationError
	schemas := map[string]filterexpr.Schema{}
	storage.TrimText(&v, "name", &d.Name, 200)
	if d.Name == "" {
		v.Add("name", "is required")
	}
	storage.TrimText(&v, "description", &d.Description, 2000)
	if len(d.Widgets) > MaxWidgets {
		v.Add("widgets", "has %d widgets; a dashboard has at most %d", len(d.Widgets), MaxWidgets)
	}
	for i := range d.Widgets {
		w := &d.Widgets[i]
		field := fmt.Sprintf("widgets[%d]", i)
		storage.TrimText(&v, field+".title", &w.Title, 200)
		switch w.Kind {
		case chart.Number, chart.Bar, chart.Line, chart.Pie, chart.Funnel, chart.Table:
		default:
			v.Add(field+".kind", "%q is not number, bar, line, pie, funnel or table", w.Kind)
		}
		n := 0
		for _, set := range []bool{w.ReportID != "", w.Report != nil, w.KPI != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			v.Add(field, "a widget has one source: report_id, report or kpi")
		}
		if w.KPI != "" {
			if w.Kind != chart.Number {
				v.Add(field+".kind", "a KPI is shown as a number")
			}
			if _, ok := ds.s.kpi(w.KPI); !ok {
				v.Add(field+".kpi", "%q is not a KPI of the CRM's modules", w.KPI)
			}
		}
		if w.Report != nil {
			if _, err := ds.s.compile(ctx, w.Report, Params{}, schemas); err != nil {
				var ve *storage.ValidationError
				if !errors.As(err, &ve) {
					return err
				}
				v.Merge(field+".report.", ve)
			}
		}
		if w.ReportID != "" {
			if _, err := ds.s.t.reports.Get(ctx, w.ReportID); errors.Is(err, storage.ErrNotFound) {
				v.Add(field+".report_id", "no report %s in this workspace", w.ReportID)
			} else if err != nil {
				return err
			}
		}
		if _, _, _, err := w.Range.Bounds(ds.s.opts.Now(), time.UTC); err != nil {
			v.Add(field+".range", "%v", err)
		}
	}
	return v.Err()
}

// Render renders the saved dashboard id as the context's member.
func (ds *Dashboards) Render(ctx context.Context, id string) ([]Panel, error) {
	d, err := ds.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return ds.RenderDashboard(ctx, *d)
}

// RenderDashboard renders d (saved or not) as the context's member: each
// widget runs its report or KPI once for its range (a number also for the
// period before), after one read of the saved reports the widgets name, and
// is drawn to SVG. A widget that cannot render has its Err set and an SVG
// that says so; the others render.
func (ds *Dashboards) RenderDashboard(ctx context.Context, d Dashboard) ([]Panel, error) {
	saved := map[string]*Report{}
	var ids []any
	for _, w := range d.Widgets {
		if w.ReportID != "" {
			ids = append(ids, w.ReportID)
		}
	}
	if len(ids) > 0 {
		page, err := ds.s.t.reports.List(ctx, storage.ListQuery{Filter: storage.Cmp{Field: "id", Op: storage.OpIn, Value: ids},
			PageQuery: storage.PageQuery{Limit: storage.MaxLimit}})
		if err != nil {
			return nil, err
		}
		for _, r := range page.Items {
			saved[r.ID] = r
		}
	}
	now := ds.s.opts.Now()
	schemas := map[string]filterexpr.Schema{}
	panels := make([]Panel, len(d.Widgets))
	for i, w := range d.Widgets {
		p := &panels[i]
		p.Widget = w
		err := ds.render(ctx, p, saved, schemas, now, fmt.Sprintf("w%d", i))
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			p.Err = err.Error()
			p.SVG, _ = chart.SVG(chart.Table, chart.Data{ID: fmt.Sprintf("w%d", i), Title: w.Title, Header: []string{"Error"}, Cells: [][]string{{p.Err}}})
		}
	}
	return panels, nil
}

// render fills in p for its widget.
func (ds *Dashboards) render(ctx context.Context, p *Panel, saved map[string]*Report, schemas map[string]filterexpr.Schema, now time.Time, id string) error {
	w := p.Widget
	from, to, prev, err := w.Range.Bounds(now, ds.s.opts.Location)
	if err != nil {
		return err
	}
	p.From, p.To = from, to
	data := chart.Data{ID: id, Title: w.Title, Change: math.NaN()}
	if w.KPI != "" {
		vals, err := ds.s.KPI(ctx, w.KPI, Params{From: from, To: to})
		if err != nil {
			return err
		}
		p.KPI = vals
		k, _ := ds.s.kpi(w.KPI)
		data.Value = formatKPI(k.Unit, vals)
		if !prev.IsZero() && len(vals) > 0 && vals[0].Valid {
			before, err := ds.s.KPI(ctx, w.KPI, Params{From: prev, To: from})
			if err != nil {
				return err
			}
			if i := slices.IndexFunc(before, func(b storage.KPIValue) bool { return b.Group == vals[0].Group && b.Valid && b.Value != 0 }); i >= 0 {
				data.Change = vals[0].Value/before[i].Value - 1
			}
		}
		p.SVG, err = chart.SVG(chart.Number, data)
		return err
	}
	r := w.Report
	if r == nil {
		if r = saved[w.ReportID]; r == nil {
			return fmt.Errorf("%w: report %s", storage.ErrNotFound, w.ReportID)
		}
	}
	res, err := ds.s.Reports.run(ctx, *r, Params{From: from, To: to}, schemas)
	if err != nil {
		return err
	}
	p.Result = res
	mi := 0
	if w.Measure != "" {
		mi = slices.IndexFunc(r.Measures, func(m Measure) bool { return m.Name == w.Measure })
		if mi < 0 {
			return storage.Invalid("measure", "%q is not a measure of report %s", w.Measure, r.Name)
		}
	}
	col := len(r.GroupBy) + mi
	switch w.Kind {
	case chart.Number:
		data.Value = "–"
		if len(res.Rows) > 0 {
			data.Value = formatValue(res.Rows[0].Values[col])
		}
		if !prev.IsZero() && len(res.Rows) > 0 {
			before, err := ds.s.Reports.run(ctx, *r, Params{From: prev, To: from}, schemas)
			if err != nil {
				return err
			}
			now, ok1 := number(res.Rows[0].Values[col])
			if len(before.Rows) > 0 {
				then, ok2 := number(before.Rows[0].Values[col])
				if ok1 && ok2 && then != 0 {
					data.Change = now/then - 1
				}
			}
		}
	case chart.Table:
		data.Header, data.Cells = cells(*r, res)
	default:
		series := chart.Series{Name: r.Measures[mi].Name}
		for _, row := range res.Rows {
			label := ""
			if len(r.GroupBy) > 0 {
				label = groupLabel(row, 0, *r)
			}
			data.Labels = append(data.Labels, label)
			v, ok := number(row.Values[col])
			if !ok {
				v = math.NaN()
			}
			series.Values = append(series.Values, v)
		}
		data.Series = []chart.Series{series}
	}
	p.SVG, err = chart.SVG(w.Kind, data)
	return err
}

// cells returns res as text for people: the columns' names, and each
// row's cells (groupLabel).
func cells(r Report, res *Result) (head []string, rows [][]string) {
	for _, c := range res.Columns {
		head = append(head, c.Name)
	}
	for _, row := range res.Rows {
		line := make([]string, len(row.Values))
		for j := range row.Values {
			line[j] = groupLabel(row, j, r)
		}
		rows = append(rows, line)
	}
	return head, rows
}

// groupLabel is how column j of row reads: its label, a time bucket's
// period, or the value.
func groupLabel(row Row, j int, r Report) string {
	v := row.Values[j]
	if j < len(row.Labels) && row.Labels[j] != "" {
		return row.Labels[j]
	}
	if t, ok := v.(time.Time); ok && j < len(r.GroupBy) {
		switch r.GroupBy[j].Bucket {
		case storage.BucketYear:
			return t.Format("2006")
		case storage.BucketQuarter:
			return fmt.Sprintf("%d Q%d", t.Year(), (int(t.Month())-1)/3+1)
		case storage.BucketMonth:
			return t.Format("Jan 2006")
		}
		return t.Format("2006-01-02")
	}
	if n, ok := v.(int64); ok && j < len(r.GroupBy) {
		switch r.GroupBy[j].Bucket {
		case storage.BucketWeekday:
			return time.Weekday(n).String()
		case storage.BucketMonthOfYear:
			return time.Month(n).String()
		}
	}
	return formatValue(v)
}

// formatValue writes a result value for people.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "–"
	case float64:
		// Three decimals at most: a table cell, not the exact value (the
		// chart's description and the exports keep that).
		return strings.TrimRight(strings.TrimRight(strconv.FormatFloat(x, 'f', 3, 64), "0"), ".")
	case time.Time:
		return x.Format("2006-01-02")
	}
	return fmt.Sprint(v)
}

// formatKPI writes a KPI's values for people, by its unit.
func formatKPI(unit string, vals []storage.KPIValue) string {
	var parts []string
	for _, v := range vals {
		if !v.Valid {
			continue
		}
		switch unit {
		case storage.UnitRatio:
			parts = append(parts, strconv.FormatFloat(100*v.Value, 'f', 1, 64)+" %")
		case storage.UnitMoney:
			parts = append(parts, storage.Money{Amount: int64(math.Round(v.Value)), Currency: v.Group}.String())
		case storage.UnitMoneyPerDay:
			parts = append(parts, storage.Money{Amount: int64(math.Round(v.Value)), Currency: v.Group}.String()+"/day")
		case storage.UnitSeconds:
			parts = append(parts, strconv.FormatFloat(v.Value/86400, 'f', 1, 64)+" days")
		case storage.UnitScore:
			parts = append(parts, strconv.FormatFloat(v.Value, 'f', 1, 64))
		default:
			parts = append(parts, strconv.FormatFloat(v.Value, 'f', -1, 64))
		}
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, " · ")
}

// number reads a result value as a float.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// SVG composes rendered panels into one SVG image of the dashboard
// titled name, two panels to a row.
func SVG(name string, panels []Panel) []byte {
	svgs := make([][]byte, len(panels))
	for i, p := range panels {
		svgs[i] = p.SVG
	}
	return chart.Grid(name, svgs, 2, 0, 0)
}
