package reporting

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/crmkit/crm/storage"
)

// WriteCSV writes res as CSV: a header of the column names, then one line
// per row; a grouping with labels gets a "<name> (name)" column after its
// own. Times are RFC 3339, numbers in full; cells a spreadsheet would run
// as formulas are neutralised (storage.SafeCSVCell).
func WriteCSV(w io.Writer, res *Result) error {
	labelled := make([]bool, len(res.Columns))
	for _, r := range res.Rows {
		for i, l := range r.Labels {
			if l != "" {
				labelled[i] = true
			}
		}
	}
	cw := csv.NewWriter(w)
	var head []string
	for i, c := range res.Columns {
		head = append(head, storage.SafeCSVCell(c.Name))
		if labelled[i] {
			head = append(head, storage.SafeCSVCell(c.Name+" (name)"))
		}
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	line := make([]string, 0, len(head))
	for _, r := range res.Rows {
		line = line[:0]
		for i, v := range r.Values {
			line = append(line, storage.SafeCSVCell(cell(v)))
			if labelled[i] {
				l := ""
				if i < len(r.Labels) {
					l = r.Labels[i]
				}
				line = append(line, storage.SafeCSVCell(l))
			}
		}
		if err := cw.Write(line); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell is the CSV text of a result value.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

// WriteJSON writes res as one JSON document: {"columns": […], "rows":
// [{"values": […], "labels": […]}]}, times in RFC 3339.
func WriteJSON(w io.Writer, res *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}
