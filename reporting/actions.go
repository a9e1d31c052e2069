package reporting

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"strings"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow/send"
)

// ActionSendReport is the name of the workflow action that mails a saved
// report.
const ActionSendReport = "send_report"

// SendReportParams are the parameters of send_report.
type SendReportParams struct {
	// Report is the saved report's ID.
	Report string `json:"report"`
	// To are the recipients' addresses.
	To []string `json:"to"`
	// Range is the report's date range, relative to the run's time (a
	// weekly schedule sends last_7_days); empty is all time.
	Range Range `json:"range,omitempty"`
	// Subject is the mail's subject; "" is "Report: <name>".
	Subject string `json:"subject,omitempty"`
}

// Actions returns the reporting module's workflow actions
// (storage.ActionProvider): send_report mails a saved report, run for its
// range at the step's time, as a text and an HTML table, through the
// module's Mailer (Options.Mailer; crm.New gives it the workflow's).
// With a schedule trigger it is the report "every Monday at 9" a team
// gets. It is an external action: it runs at least once per step, and the
// message keeps the step's key as its ID, so a retry is one message to a
// receiver that drops repeats. The report runs with the rights the engine
// gives the rule's actions: those of the member who saved the rule
// (workflow.Rule.ActsAs), or the system's for a rule the system or an
// admin saved to run as the system.
func (s *Service) Actions() []storage.ActionSpec {
	return []storage.ActionSpec{{Name: ActionSendReport, External: true, Check: s.checkSendReport, Run: s.sendReport}}
}

func (s *Service) checkSendReport(ctx context.Context, raw json.RawMessage) error {
	var p SendReportParams
	if err := storage.DecodeStrict(raw, &p); err != nil {
		return storage.Invalid("params", "%v", err)
	}
	var v storage.ValidationError
	if p.Report == "" {
		v.Add("report", "is required")
	} else if _, err := s.t.reports.Get(ctx, p.Report); err != nil {
		v.Add("report", "no report %s in this workspace", p.Report)
	}
	if len(p.To) == 0 {
		v.Add("to", "at least one recipient is required")
	}
	if _, _, _, err := p.Range.Bounds(s.opts.Now(), s.opts.Location); err != nil {
		v.Add("range", "%v", err)
	}
	if s.opts.Mailer == nil {
		v.Add("to", "the CRM has no mailer (crm.Config.Workflow.Mailer)")
	}
	return v.Err()
}

func (s *Service) sendReport(ctx context.Context, call storage.ActionCall) (any, error) {
	var p SendReportParams
	if err := storage.DecodeStrict(call.Params, &p); err != nil {
		return nil, storage.Invalid("params", "%v", err)
	}
	if s.opts.Mailer == nil {
		return nil, storage.Invalid("to", "the CRM has no mailer")
	}
	r, err := s.Reports.Get(ctx, p.Report)
	if err != nil {
		return nil, err
	}
	from, to, _, err := p.Range.Bounds(call.Now, s.opts.Location)
	if err != nil {
		return nil, storage.Invalid("range", "%v", err)
	}
	res, err := s.Reports.Run(ctx, *r, Params{From: from, To: to})
	if err != nil {
		return nil, err
	}
	subject := p.Subject
	if subject == "" {
		subject = "Report: " + r.Name
	}
	text, htm := mailTables(*r, res)
	m := send.Message{ID: call.Key, To: p.To, Subject: subject, Text: text, HTML: htm}
	if err := send.CheckMessage(m); err != nil {
		return nil, err
	}
	if err := s.opts.Mailer.Send(ctx, m); err != nil {
		return nil, err
	}
	return map[string]any{"report": r.ID, "rows": len(res.Rows), "to": p.To}, nil
}

// mailTables writes res as a plain-text table and an HTML table.
func mailTables(r Report, res *Result) (string, string) {
	head, rows := cells(r, res)
	width := make([]int, len(head))
	for i, h := range head {
		width[i] = len([]rune(h))
	}
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	var t, h strings.Builder
	line := func(cells []string) {
		for i, c := range cells {
			fmt.Fprintf(&t, "%-*s  ", width[i], c)
		}
		t.WriteString("\n")
	}
	t.WriteString(r.Name + "\n\n")
	line(head)
	for _, row := range rows {
		line(row)
	}
	if len(rows) == 0 {
		t.WriteString("(no rows)\n")
	}
	h.WriteString("<h2>" + html.EscapeString(r.Name) + "</h2><table><thead><tr>")
	for _, c := range head {
		h.WriteString("<th>" + html.EscapeString(c) + "</th>")
	}
	h.WriteString("</tr></thead><tbody>")
	for _, row := range rows {
		h.WriteString("<tr>")
		for _, c := range row {
			h.WriteString("<td>" + html.EscapeString(c) + "</td>")
		}
		h.WriteString("</tr>")
	}
	h.WriteString("</tbody></table>")
	return t.String(), h.String()
}
