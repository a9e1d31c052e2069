package reporting_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/reporting"
)

func TestWriteCSV(t *testing.T) {
	res := &reporting.Result{
		Columns: []reporting.Column{{Name: "owner_id"}, {Name: "created_at:month"}, {Name: "total", Measure: true}, {Name: "rate", Measure: true}},
		Rows: []reporting.Row{
			{Values: []any{"m1", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), int64(1200), 0.25}, Labels: []string{"=HYPERLINK(\"x\")", ""}},
			{Values: []any{"m2", nil, int64(-5), nil}},
		},
	}
	var b bytes.Buffer
	if err := reporting.WriteCSV(&b, res); err != nil {
		t.Fatal(err)
	}
	got, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"owner_id", "owner_id (name)", "created_at:month", "total", "rate"},
		{"m1", "'=HYPERLINK(\"x\")", "2026-02-01T00:00:00Z", "1200", "0.25"},
		{"m2", "", "", "-5", ""},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("CSV (-want +got):\n%s", d)
	}
	b.Reset()
	if err := reporting.WriteJSON(&b, res); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Columns []map[string]any `json:"columns"`
		Rows    []struct {
			Values []any `json:"values"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Columns) != 4 || len(back.Rows) != 2 || back.Rows[0].Values[2] != 1200.0 || back.Rows[0].Values[1] != "2026-02-01T00:00:00Z" {
		t.Errorf("JSON = %s", b.String())
	}
}
