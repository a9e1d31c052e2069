package chart_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/crmkit/crm/reporting/chart"
)

// TestSVG renders each kind and checks that the SVG parses, is an
// accessible image that scales, and holds every number in its
// description.
func TestSVG(t *testing.T) {
	series := []chart.Series{{Name: "won", Values: []float64{1200, 3400.5, math.NaN()}}}
	labels := []string{"Ada", "Bob & Co", "Cy"}
	for _, c := range []struct {
		kind chart.Kind
		data chart.Data
		want []string
	}{
		{chart.Bar, chart.Data{Title: "Won by rep", Labels: labels, Series: series}, []string{"Ada: 1200", "Bob &amp; Co: 3400.5", "Cy: no value"}},
		{chart.Line, chart.Data{Title: "By month", Labels: labels, Series: append(series, chart.Series{Name: "lost", Values: []float64{5, 6, 7}})},
			[]string{"won: Ada: 1200", "lost: Ada: 5; Bob &amp; Co: 6; Cy: 7"}},
		{chart.Pie, chart.Data{Title: "Share", Labels: labels, Series: series}, []string{"Bob &amp; Co: 3400.5"}},
		{chart.Funnel, chart.Data{Title: "Funnel", Labels: []string{"Lead", "Deal", "Won"}, Series: []chart.Series{{Values: []float64{10, 6, 3}}}},
			[]string{"Lead: 10; Deal: 6; Won: 3"}},
		{chart.Table, chart.Data{Title: "Table", Header: []string{"Rep", "Won"}, Cells: [][]string{{"Ada", "1200"}, {"Bob", "3400.5"}}},
			[]string{"Rep Ada, Won 1200", "Rep Bob, Won 3400.5"}},
		{chart.Number, chart.Data{Title: "Won revenue", Value: "EUR 12,400.00", Change: 0.25}, []string{"EUR 12,400.00", "+25.0 %"}},
		{chart.Number, chart.Data{Title: "Win rate", Value: "75 %", Change: math.NaN()}, []string{"75 %"}},
		{chart.Bar, chart.Data{Title: "Nothing", Labels: nil, Series: nil}, []string{"No data."}},
	} {
		out, err := chart.SVG(c.kind, c.data)
		if err != nil {
			t.Fatalf("%s %q: %v", c.kind, c.data.Title, err)
		}
		var root struct {
			XMLName xml.Name
			Role    string `xml:"role,attr"`
			ViewBox string `xml:"viewBox,attr"`
			Title   string `xml:"title"`
			Desc    string `xml:"desc"`
		}
		if err := xml.Unmarshal(out, &root); err != nil {
			t.Fatalf("%s %q: the SVG does not parse: %v", c.kind, c.data.Title, err)
		}
		// Every element parses, to the end.
		dec := xml.NewDecoder(bytes.NewReader(out))
		for {
			if _, err := dec.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", c.kind, err)
			}
		}
		if root.XMLName.Local != "svg" || root.Role != "img" || root.ViewBox == "" || root.Title != c.data.Title {
			t.Errorf("%s %q: root %+v, want an svg image with a viewBox and the title", c.kind, c.data.Title, root)
		}
		for _, w := range c.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s %q: the SVG lacks %q; desc %q", c.kind, c.data.Title, w, root.Desc)
			}
		}
		if !strings.Contains(string(out), `width="100%"`) {
			t.Errorf("%s: the SVG does not scale to its container", c.kind)
		}
	}
	if _, err := chart.SVG("gauge", chart.Data{}); err == nil {
		t.Error("an unknown kind rendered")
	}
}

func TestGrid(t *testing.T) {
	var svgs [][]byte
	for _, title := range []string{"One", "Two", "Three"} {
		out, err := chart.SVG(chart.Bar, chart.Data{ID: strings.ToLower(title), Title: title, Labels: []string{"a"}, Series: []chart.Series{{Values: []float64{1}}}})
		if err != nil {
			t.Fatal(err)
		}
		svgs = append(svgs, out)
	}
	grid := chart.Grid("Sales", svgs, 2, 0, 0)
	dec := xml.NewDecoder(bytes.NewReader(grid))
	titles := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the grid does not parse: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "title" {
			titles++
		}
	}
	if titles != 4 || !strings.Contains(string(grid), `viewBox="0 0 1200 808"`) {
		t.Errorf("grid: %d titles (want 4), %s…", titles, grid[:200])
	}
}
