package workflow

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/crmkit/crm/storage/filterexpr"
)

// Limits of templates.
const (
	maxTemplate = 16 << 10 // bytes of a template's source
	maxRendered = 64 << 10 // bytes of its output
)

// templateCache keeps parsed templates by source.
type templateCache struct {
	mu sync.Mutex
	m  map[templateKey]executor
}

type templateKey struct {
	src  string
	html bool
}

// executor is what text and html templates share.
type executor interface {
	Execute(w io.Writer, data any) error
}

// parse parses src as a text or an HTML template; missing is its
// missingkey option ("zero" when run, "error" when checked).
func parse(src string, html bool, missing string) (executor, error) {
	if len(src) > maxTemplate {
		return nil, fmt.Errorf("template is longer than %d bytes", maxTemplate)
	}
	var t executor
	var err error
	if html {
		t, err = htmltemplate.New("t").Option("missingkey=" + missing).Parse(src)
	} else {
		t, err = template.New("t").Option("missingkey=" + missing).Parse(src)
	}
	if err != nil {
		return nil, cleanTemplateError(err)
	}
	return t, nil
}

func (c *templateCache) get(src string, html bool) (executor, error) {
	k := templateKey{src, html}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.m[k]; ok {
		return t, nil
	}
	t, err := parse(src, html, "zero")
	if err != nil {
		return nil, err
	}
	if c.m == nil || len(c.m) > 2000 {
		c.m = map[templateKey]executor{}
	}
	c.m[k] = t
	return t, nil
}

func cleanTemplateError(err error) error {
	return errors.New(strings.TrimPrefix(strings.TrimPrefix(err.Error(), "template: "), "t:"))
}

// limitWriter fails writes past its limit.
type limitWriter struct {
	buf bytes.Buffer
	max int
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.max {
		return 0, fmt.Errorf("rendered text is longer than %d bytes", w.max)
	}
	return w.buf.Write(p)
}

// render executes the template src over data; text without "{{" is
// returned as it is.
func (e *Engine) render(src string, data map[string]any, html bool) (string, error) {
	if !strings.Contains(src, "{{") {
		return src, nil
	}
	t, err := e.tmpl.get(src, html)
	if err != nil {
		return "", err
	}
	w := &limitWriter{max: maxRendered}
	if err := t.Execute(w, data); err != nil {
		return "", cleanTemplateError(err)
	}
	return w.buf.String(), nil
}

// templateData returns what templates see, made once per call: the
// record's fields by name ({{.first_name}}), custom fields as text
// ({{.custom.tier}}, empty when missing), .rule and .run_id, and, for
// runs set off by an event and only once a template src names .event, the
// event with the record's fields before and after it
// ({{.event.old.stage}}, {{.event.new.stage}}).
func (c *Call) templateData(src string) map[string]any {
	if c.data == nil {
		c.data = make(map[string]any, len(c.Fields)+4)
		for k, v := range c.Fields {
			c.data[k] = v
		}
		custom := map[string]string{}
		if m, ok := c.Fields["custom"].(map[string]any); ok {
			for k, v := range m {
				custom[k] = fmt.Sprint(v)
			}
		}
		c.data["custom"] = custom
		if c.Run != nil {
			c.data["rule"] = c.Run.Rule.Name
			c.data["run_id"] = c.Run.ID
		}
	}
	if ev := c.Event; ev != nil && !c.withEvent && strings.Contains(src, "event") {
		c.withEvent = true
		old, cur := map[string]any{}, map[string]any{}
		for k, v := range c.Fields {
			old[k], cur[k] = v, v
		}
		for _, ch := range ev.Changes {
			if !strings.HasPrefix(ch.Field, "custom.") {
				old[ch.Field], cur[ch.Field] = jsonValue(ch.Old), jsonValue(ch.New)
			}
		}
		c.data["event"] = map[string]any{"type": ev.Type, "actor": ev.Actor, "occurred_at": ev.OccurredAt, "old": old, "new": cur}
	}
	return c.data
}

// checkTemplate parses src and runs it over zero values of schema's
// fields, so that an unknown field is caught when the rule is saved.
func checkTemplate(src string, schema filterexpr.Schema, html bool) error {
	if !strings.Contains(src, "{{") {
		return nil
	}
	data := map[string]any{"rule": "", "run_id": ""}
	custom := map[string]string{}
	for name, typ := range schema {
		if c, ok := strings.CutPrefix(name, "custom."); ok {
			custom[c] = ""
			continue
		}
		switch typ {
		case filterexpr.Number:
			data[name] = 0.0
		case filterexpr.Bool:
			data[name] = false
		case filterexpr.Time:
			data[name] = time.Time{}
		case filterexpr.TextList:
			data[name] = []string{}
		default:
			data[name] = ""
		}
	}
	data["custom"] = custom
	fields := map[string]any{}
	for k, v := range data {
		fields[k] = v
	}
	data["event"] = map[string]any{"type": "", "actor": "", "occurred_at": time.Time{}, "old": fields, "new": fields}
	t, err := parse(src, html, "error")
	if err != nil {
		return err
	}
	if err := t.Execute(&limitWriter{max: maxRendered}, data); err != nil {
		return cleanTemplateError(err)
	}
	return nil
}
