// Package chart renders the widgets of reporting's dashboards to SVG: bar,
// line, pie, funnel and table charts with github.com/go-analyze/charts, and
// a number with its change in a small template of its own. Every SVG is
// accessible (role="img", a <title> and a <desc> that holds every value
// exactly, which screen readers read and tests check) and scales to the
// width it is given (a viewBox, width 100%), so it reads at phone width.
package chart

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/go-analyze/charts"
)

// Kind is what a chart draws.
type Kind string

// The chart kinds.
const (
	Bar    Kind = "bar"
	Line   Kind = "line"
	Pie    Kind = "pie"
	Funnel Kind = "funnel"
	Table  Kind = "table"
	Number Kind = "number"
)

// Series is one series of values, one per label; NaN is a missing value.
type Series struct {
	Name   string
	Values []float64
}

// Data is what a chart shows.
type Data struct {
	// ID makes the ids of the SVG's title and description unique on a
	// page holding several charts; "" is "chart".
	ID string
	// Title is the chart's heading and accessible name.
	Title string
	// Labels name the categories (the x axis, the slices, the steps).
	Labels []string
	// Series are the values (Bar and Line: one or more; Pie and Funnel:
	// the first).
	Series []Series
	// Header and Cells are a Table's.
	Header []string
	Cells  [][]string
	// Value and Change are a Number's: the figure as shown ("EUR
	// 12,400.00") and its change against the previous period as a
	// fraction (0.25 is +25 %); NaN when there is none to compare with.
	Value  string
	Change float64
	// Width and Height are the drawing's size in user units (it scales
	// to its container); 0 is 600 × 360.
	Width, Height int
}

// SVG renders d as a chart of kind k.
func SVG(k Kind, d Data) ([]byte, error) {
	if d.Width <= 0 {
		d.Width = 600
	}
	if d.Height <= 0 {
		d.Height = 360
	}
	if d.ID == "" {
		d.ID = "chart"
	}
	var p *charts.Painter
	var err error
	opts := []charts.OptionFunc{charts.SVGOutputOptionFunc(), charts.DimensionsOptionFunc(d.Width, d.Height),
		charts.TitleTextOptionFunc(d.Title), charts.ThemeNameOptionFunc(charts.ThemeLight)}
	first := func() []float64 {
		if len(d.Series) == 0 {
			return nil
		}
		return d.Series[0].Values
	}
	switch k {
	case Bar, Line:
		if len(d.Series) == 0 || len(d.Labels) == 0 {
			return empty(d, k)
		}
		values := make([][]float64, len(d.Series))
		names := make([]string, len(d.Series))
		for i, s := range d.Series {
			values[i] = nullable(s.Values)
			names[i] = s.Name
		}
		opts = append(opts, charts.XAxisLabelsOptionFunc(d.Labels))
		if len(d.Series) > 1 {
			opts = append(opts, charts.LegendLabelsOptionFunc(names))
		}
		if minimum(d.Series) >= 0 {
			// Bars of counts and amounts start at zero: an axis from the
			// least value would draw it as nothing.
			opts = append(opts, charts.YAxisOptionFunc(charts.YAxisOption{Min: charts.Ptr(0.0), ValueFormatter: short}))
		}
		label := charts.SeriesLabel{Show: charts.Ptr(true), ValueFormatter: Format}
		if len(d.Series) == 1 {
			names = nil // no legend for one series: the title says it
		}
		var list charts.GenericSeriesList
		if k == Bar {
			list = charts.NewSeriesListBar(values, charts.BarSeriesOption{Label: label, Names: names}).ToGenericSeriesList()
		} else {
			list = charts.NewSeriesListLine(values, charts.LineSeriesOption{Label: label, Names: names}).ToGenericSeriesList()
		}
		p, err = charts.Render(charts.ChartOption{SeriesList: list}, opts...)
	case Pie, Funnel:
		vals := first()
		if len(vals) == 0 || sum(vals) <= 0 {
			return empty(d, k)
		}
		opts = append(opts, charts.LegendLabelsOptionFunc(d.Labels))
		label := charts.SeriesLabel{Show: charts.Ptr(true)}
		var list charts.GenericSeriesList
		if k == Pie {
			list = charts.NewSeriesListPie(zeroed(vals), charts.PieSeriesOption{Label: label, Names: d.Labels}).ToGenericSeriesList()
		} else {
			list = charts.NewSeriesListFunnel(zeroed(vals), charts.FunnelSeriesOption{Label: label, Names: d.Labels}).ToGenericSeriesList()
		}
		p, err = charts.Render(charts.ChartOption{SeriesList: list}, opts...)
	case Table:
		if len(d.Header) == 0 {
			return empty(d, k)
		}
		cells := d.Cells
		if len(cells) == 0 {
			cells = [][]string{make([]string, len(d.Header))}
		}
		p, err = charts.TableOptionRenderDirect(charts.TableChartOption{OutputFormat: charts.ChartOutputSVG, Width: d.Width,
			Header: d.Header, Data: cells})
	case Number:
		return number(d), nil
	default:
		return nil, fmt.Errorf("chart: %q is not a chart kind (bar, line, pie, funnel, table, number)", k)
	}
	if err != nil {
		return nil, fmt.Errorf("chart: %s: %w", k, err)
	}
	out, err := p.Bytes()
	if err != nil {
		return nil, fmt.Errorf("chart: %s: %w", k, err)
	}
	return accessible(out, d, k), nil
}

// Describe returns the text of d's description: every value, exactly.
func Describe(k Kind, d Data) string {
	var parts []string
	switch k {
	case Table:
		for _, row := range d.Cells {
			var cells []string
			for i, c := range row {
				if i < len(d.Header) {
					cells = append(cells, d.Header[i]+" "+c)
				}
			}
			parts = append(parts, strings.Join(cells, ", "))
		}
	case Number:
		parts = append(parts, d.Value)
		if !math.IsNaN(d.Change) {
			parts = append(parts, "change "+percent(d.Change)+" against the previous period")
		}
	default:
		for _, s := range d.Series {
			var vals []string
			for i, v := range s.Values {
				label := ""
				if i < len(d.Labels) {
					label = d.Labels[i]
				}
				vals = append(vals, label+": "+Format(v))
			}
			text := strings.Join(vals, "; ")
			if s.Name != "" {
				text = s.Name + ": " + text
			}
			parts = append(parts, text)
		}
	}
	if len(parts) == 0 {
		return "No data."
	}
	return strings.Join(parts, ". ") + "."
}

// Format writes v exactly, without exponent ("1200", "0.25"); a NaN is
// "no value".
func Format(v float64) string {
	if math.IsNaN(v) {
		return "no value"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// accessible makes svg an accessible image that scales to its container:
// role, labels, a title and a description as its first children.
func accessible(svg []byte, d Data, k Kind) []byte {
	i := bytes.Index(svg, []byte("<svg"))
	if i < 0 {
		return svg
	}
	end := bytes.IndexByte(svg[i:], '>')
	if end < 0 {
		return svg
	}
	end += i
	var b bytes.Buffer
	b.Write(svg[:end])
	fmt.Fprintf(&b, ` role="img" aria-labelledby="%s-title %s-desc" width="100%%" preserveAspectRatio="xMidYMid meet"`, d.ID, d.ID)
	if !bytes.Contains(svg[i:end], []byte("viewBox")) {
		fmt.Fprintf(&b, ` viewBox="0 0 %d %d"`, d.Width, d.Height)
	}
	b.WriteString(">")
	fmt.Fprintf(&b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, d.ID, escape(d.Title), d.ID, escape(Describe(k, d)))
	b.Write(svg[end+1:])
	return b.Bytes()
}

// empty is the chart of no data: its title and "No data".
func empty(d Data, k Kind) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d">`, d.Width, d.Height)
	fmt.Fprintf(&b, `<text x="20" y="36" font-size="16" font-family="sans-serif" fill="#464646">%s</text>`, escape(d.Title))
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="14" font-family="sans-serif" fill="#888" text-anchor="middle">No data</text></svg>`, d.Width/2, d.Height/2)
	d.Series, d.Cells = nil, nil
	return accessible(b.Bytes(), d, k), nil
}

// number is the SVG of a Number: the title, the figure, the change.
func number(d Data) []byte {
	var b bytes.Buffer
	w, h := d.Width, d.Height
	if h > 200 {
		h = 200
	}
	d.Height = h
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d">`, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`, w, h)
	fmt.Fprintf(&b, `<text x="20" y="36" font-size="16" font-family="sans-serif" fill="#464646">%s</text>`, escape(d.Title))
	fmt.Fprintf(&b, `<text x="20" y="%d" font-size="44" font-weight="bold" font-family="sans-serif" fill="#222">%s</text>`, h/2+20, escape(d.Value))
	if !math.IsNaN(d.Change) {
		colour, arrow := "#2e7d32", "▲"
		if d.Change < 0 {
			colour, arrow = "#c62828", "▼"
		}
		fmt.Fprintf(&b, `<text x="20" y="%d" font-size="16" font-family="sans-serif" fill="%s">%s %s vs previous period</text>`,
			h-24, colour, arrow, percent(d.Change))
	}
	b.WriteString("</svg>")
	return accessible(b.Bytes(), d, Number)
}

func percent(f float64) string {
	s := strconv.FormatFloat(100*f, 'f', 1, 64) + " %"
	if f > 0 {
		s = "+" + s
	}
	return s
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// nullable returns vals with NaN as the library's null value.
func nullable(vals []float64) []float64 {
	out := make([]float64, len(vals))
	for i, v := range vals {
		if math.IsNaN(v) {
			out[i] = charts.GetNullValue()
		} else {
			out[i] = v
		}
	}
	return out
}

// zeroed returns vals with NaN as 0.
func zeroed(vals []float64) []float64 {
	out := make([]float64, len(vals))
	for i, v := range vals {
		if !math.IsNaN(v) {
			out[i] = v
		}
	}
	return out
}

// minimum is the least value of the series, NaNs left out.
func minimum(series []Series) float64 {
	m := math.Inf(1)
	for _, s := range series {
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				m = math.Min(m, v)
			}
		}
	}
	return m
}

// short writes an axis value: whole numbers as they are, others with
// two decimals at most.
func short(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func sum(vals []float64) float64 {
	s := 0.0
	for _, v := range vals {
		if !math.IsNaN(v) {
			s += v
		}
	}
	return s
}

// Grid composes rendered charts into one SVG, cols to a row, each cell
// width × height user units (0: 600 × 360), under title: a dashboard as
// one image. Each chart keeps its own title and description.
func Grid(title string, svgs [][]byte, cols, width, height int) []byte {
	if cols <= 0 {
		cols = 2
	}
	if width <= 0 {
		width = 600
	}
	if height <= 0 {
		height = 360
	}
	const head = 56
	// A row is as tall as its tallest chart (a number is shorter than a
	// bar chart), scaled to the cell's width.
	var rowH []int
	for i, svg := range svgs {
		ch := height
		if vb := strings.Fields(viewBoxRE(svg[:min(len(svg), 4096)])); len(vb) == 4 {
			vw, _ := strconv.ParseFloat(vb[2], 64)
			vh, _ := strconv.ParseFloat(vb[3], 64)
			if vw > 0 && vh > 0 {
				ch = int(math.Ceil(vh*float64(width)/vw)) + 16
			}
		}
		if i%cols == 0 {
			rowH = append(rowH, ch)
		} else if ch > rowH[len(rowH)-1] {
			rowH[len(rowH)-1] = ch
		}
	}
	w, h := cols*width, head
	for _, rh := range rowH {
		h += rh
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="grid-title">`, w, h)
	fmt.Fprintf(&b, `<title id="grid-title">%s</title><rect width="%d" height="%d" fill="#f5f6f8"/>`, escape(title), w, h)
	fmt.Fprintf(&b, `<text x="20" y="36" font-size="22" font-weight="bold" font-family="sans-serif" fill="#222">%s</text>`, escape(title))
	y := head
	for i, svg := range svgs {
		if i > 0 && i%cols == 0 {
			y += rowH[i/cols-1]
		}
		x, cellH := (i%cols)*width, rowH[i/cols]
		start := bytes.Index(svg, []byte("<svg"))
		end := bytes.IndexByte(svg[max(start, 0):], '>')
		last := bytes.LastIndex(svg, []byte("</svg>"))
		if start < 0 || end < 0 || last < 0 {
			continue
		}
		end += start
		viewBox := fmt.Sprintf("0 0 %d %d", width, height)
		if m := viewBoxRE(svg[start:end]); m != "" {
			viewBox = m
		}
		fmt.Fprintf(&b, `<svg x="%d" y="%d" width="%d" height="%d" viewBox="%s" preserveAspectRatio="xMidYMin meet">`, x+8, y+8, width-16, cellH-16, viewBox)
		b.Write(svg[end+1 : last])
		b.WriteString("</svg>")
	}
	b.WriteString("</svg>")
	return b.Bytes()
}

// viewBoxRE returns the viewBox attribute's value in the tag, or "".
func viewBoxRE(tag []byte) string {
	i := bytes.Index(tag, []byte(`viewBox="`))
	if i < 0 {
		return ""
	}
	rest := tag[i+len(`viewBox="`):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}
