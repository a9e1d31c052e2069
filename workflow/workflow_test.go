package workflow_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"3d": 72 * time.Hour, "-72h": -72 * time.Hour, "1w2d": 9 * 24 * time.Hour, "90m": 90 * time.Minute,
		"+1h30m": 90 * time.Minute, "250ms": 250 * time.Millisecond, "": 0,
	} {
		got, err := workflow.ParseDuration(in)
		if err != nil || time.Duration(got) != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, time.Duration(got), err, want)
		}
	}
	for _, bad := range []string{"3", "d", "3y", "1.5h", "-", "9999999999d", "200000w"} {
		if _, err := workflow.ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) worked", bad)
		}
	}
	for _, d := range []time.Duration{72 * time.Hour, -150 * time.Minute, 1500 * time.Millisecond} {
		b, err := json.Marshal(workflow.Duration(d))
		if err != nil {
			t.Fatal(err)
		}
		var back workflow.Duration
		if err := json.Unmarshal(b, &back); err != nil || time.Duration(back) != d {
			t.Errorf("%v → %s → %v, %v", d, b, time.Duration(back), err)
		}
	}
}

func TestLoadRules(t *testing.T) {
	fsys := fstest.MapFS{
		"flows/a_stage.yaml": {Data: []byte(`
name: Stage change
enabled: true
trigger: {kind: event, object: opportunity, events: [stage_changed]}
condition: amount >= 10000
actions:
  - type: create_task
    params: {title: "Review {{.name}}", due_in: 2d}
`)},
		"flows/b_list.json": {Data: []byte(`[
  {"name": "Tag leads", "enabled": true,
   "trigger": {"kind": "event", "object": "contact", "events": ["created"]},
   "condition": "lifecycle == 'lead'",
   "actions": [{"type": "add_tag", "params": {"tags": ["lead"]}}]},
  {"name": "Nurture", "enabled": true,
   "trigger": {"kind": "manual", "object": "contact"},
   "actions": [{"type": "wait", "params": {"for": "3d"}}, {"type": "add_tag", "params": {"tags": ["nurtured"]}}],
   "exit": {"when": "lifecycle == 'customer'"}}
]`)},
		"flows/readme.txt": {Data: []byte("not a rule")},
	}
	rules, err := workflow.LoadRules(fsys, "flows/*.yaml", "flows/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rules {
		names = append(names, r.Name)
	}
	if !cmp.Equal(names, []string{"Stage change", "Tag leads", "Nurture"}) {
		t.Fatalf("loaded %v", names)
	}
	var p workflow.TaskParams
	if err := json.Unmarshal(rules[0].Actions[0].Params, &p); err != nil || p.DueIn != workflow.Duration(48*time.Hour) || p.Title != "Review {{.name}}" {
		t.Errorf("task params %+v, %v", p, err)
	}

	// The engine checks and defines them; the rules then run.
	store := testdb.SQLite(t)
	ctx := storage.WithWorkspace(t.Context(), "load")
	app, err := crm.New(ctx, store, crm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Workflow.Load(ctx, fsys, "flows/*.yaml", "flows/*.json"); err != nil {
		t.Fatal(err)
	}
	c, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", Lifecycle: contacts.LifecycleLead})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Workflow.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := app.Contacts.Get(ctx, c.ID); !cmp.Equal(got.Tags, []string{"lead"}) {
		t.Errorf("tags after the loaded rule: %v", got.Tags)
	}

	for name, data := range map[string]string{
		"unknown field":  "name: x\ntrigger: {kind: event}\nactons: []\n",
		"bad yaml":       "name: [x\n",
		"bad duration":   "name: x\ntrigger: {kind: time, offset: 3 days}\n",
		"duplicate name": "",
	} {
		f := fstest.MapFS{"r.yaml": {Data: []byte(data)}}
		if name == "duplicate name" {
			f = fstest.MapFS{"a.yaml": {Data: []byte("name: x\n")}, "b.yaml": {Data: []byte("name: x\n")}}
		}
		_, err := workflow.LoadRules(f, "*.yaml")
		if !errors.Is(err, storage.ErrInvalid) || !strings.Contains(err.Error(), ".yaml") {
			t.Errorf("%s: LoadRules = %v, want ErrInvalid naming the file", name, err)
		}
	}
	bad := fstest.MapFS{"r.yaml": {Data: []byte("name: Bad\ntrigger: {kind: event, object: contact, events: [created]}\ncondition: shoe_size > 3\nactions: [{type: add_tag, params: {tags: [x]}}]\n")}}
	_, err = app.Workflow.Load(ctx, bad, "*.yaml")
	if !errors.Is(err, storage.ErrInvalid) || !strings.Contains(err.Error(), "Bad") {
		t.Errorf("Load of a bad rule = %v", err)
	}
}
