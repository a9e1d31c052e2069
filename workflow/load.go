package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/crmkit/crm/storage"
)

// LoadRules reads rules from the files of fsys that match the glob
// patterns (path.Match syntax, such as "workflows/*.yaml"): workflows
// kept as code in the host's repository, embedded with //go:embed or read
// with os.DirFS. A file is YAML (.yaml, .yml) or JSON (.json) and holds one
// rule or a list of rules, with the field names of Rule's JSON form:
//
//	name: Stage change notification
//	enabled: true
//	trigger: {kind: event, object: opportunity, events: [stage_changed]}
//	condition: amount >= 10000
//	actions:
//	  - type: create_task
//	    params: {title: "Review {{.name}}", due_in: 2d}
//
// Unknown fields are errors, naming the file. Files are read in name
// order. The rules are not checked here: Engine.Load (or Define) checks
// them against the engine's objects and actions.
func LoadRules(fsys fs.FS, patterns ...string) ([]Rule, error) {
	var files []string
	for _, p := range patterns {
		m, err := fs.Glob(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("workflow: pattern %q: %w", p, err)
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	var out []Rule
	seen := map[string]string{}
	for i, f := range files {
		if i > 0 && files[i-1] == f {
			continue
		}
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("workflow: %w", err)
		}
		switch strings.ToLower(path.Ext(f)) {
		case ".yaml", ".yml":
			if b, err = yaml.YAMLToJSON(b); err != nil {
				return nil, fmt.Errorf("%w: workflow file %s: %v", storage.ErrInvalid, f, err)
			}
		case ".json":
		default:
			return nil, fmt.Errorf("%w: workflow file %s: want .yaml, .yml or .json", storage.ErrInvalid, f)
		}
		rules, err := decodeRules(b)
		if err != nil {
			return nil, fmt.Errorf("%w: workflow file %s: %v", storage.ErrInvalid, f, err)
		}
		for _, r := range rules {
			if other, ok := seen[r.Name]; ok {
				return nil, fmt.Errorf("%w: workflow file %s: rule %q is also defined in %s", storage.ErrInvalid, f, r.Name, other)
			}
			seen[r.Name] = f
			out = append(out, r)
		}
	}
	return out, nil
}

// decodeRules reads one rule or a list of rules, strictly.
func decodeRules(b []byte) ([]Rule, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	strict := func(v any) error {
		d := json.NewDecoder(bytes.NewReader(b))
		d.DisallowUnknownFields()
		return d.Decode(v)
	}
	if b[0] == '[' {
		var rules []Rule
		if err := strict(&rules); err != nil {
			return nil, err
		}
		return rules, nil
	}
	var r Rule
	if err := strict(&r); err != nil {
		return nil, err
	}
	return []Rule{r}, nil
}

// Load reads rules with LoadRules and defines each (Define), checking
// them all first: a bad rule is an error naming it, and then none is
// defined.
func (e *Engine) Load(ctx context.Context, fsys fs.FS, patterns ...string) ([]Rule, error) {
	rules, err := LoadRules(fsys, patterns...)
	if err != nil {
		return nil, err
	}
	for i := range rules {
		cp := rules[i]
		if err := e.check(ctx, &cp); err != nil {
			return nil, fmt.Errorf("workflow rule %q: %w", rules[i].Name, err)
		}
	}
	for _, r := range rules {
		if err := e.Define(ctx, r); err != nil {
			return nil, fmt.Errorf("workflow rule %q: %w", r.Name, err)
		}
	}
	return rules, nil
}
