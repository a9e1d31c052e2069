package sales

import (
	"context"
	"fmt"
	"strings"

	"github.com/crmkit/crm/storage"
)

// StageKind says whether a stage is still open or closes the deal.
type StageKind string

// The stage kinds.
const (
	StageOpen StageKind = "open"
	StageWon  StageKind = "won"
	StageLost StageKind = "lost"
)

// Stage is one step of a pipeline.
type Stage struct {
	// Key identifies the stage in its pipeline: lower-case letters, digits
	// and underscores. Opportunities name their stage by key.
	Key string `json:"key"`
	// Name is shown to people.
	Name string `json:"name"`
	// Probability is the chance, in percent (0–100), that a deal in this
	// stage is won; an opportunity takes it unless its own is set.
	Probability int `json:"probability"`
	// Kind is open, won or lost.
	Kind StageKind `json:"kind"`
}

// Pipeline is an ordered list of stages deals move through. A workspace
// can have several; one is its default.
type Pipeline struct {
	storage.Meta
	Name      string  `bun:"name,notnull" json:"name"`
	IsDefault bool    `bun:"is_default,notnull" json:"is_default"`
	Stages    []Stage `bun:"stages" json:"stages"`
}

// RecordType returns "pipeline".
func (*Pipeline) RecordType() string { return ObjectPipeline }

// Stage returns the stage with key, and whether there is one.
func (p *Pipeline) Stage(key string) (Stage, bool) {
	for _, s := range p.Stages {
		if s.Key == key {
			return s, true
		}
	}
	return Stage{}, false
}

// first returns the first stage of kind.
func (p *Pipeline) first(kind StageKind) (Stage, bool) {
	for _, s := range p.Stages {
		if s.Kind == kind {
			return s, true
		}
	}
	return Stage{}, false
}

// DefaultStages are the stages of the pipeline a workspace gets by default.
func DefaultStages() []Stage {
	return []Stage{
		{Key: "prospecting", Name: "Prospecting", Probability: 10, Kind: StageOpen},
		{Key: "qualification", Name: "Qualification", Probability: 20, Kind: StageOpen},
		{Key: "proposal", Name: "Proposal", Probability: 50, Kind: StageOpen},
		{Key: "negotiation", Name: "Negotiation", Probability: 75, Kind: StageOpen},
		{Key: "closed_won", Name: "Closed won", Probability: 100, Kind: StageWon},
		{Key: "closed_lost", Name: "Closed lost", Probability: 0, Kind: StageLost},
	}
}

// DefaultPipelineName is the name of the pipeline Pipelines.Default creates.
const DefaultPipelineName = "Sales"

// NewPipeline is the input of Pipelines.Create.
type NewPipeline struct {
	Name string
	// Stages in order; DefaultStages when empty.
	Stages []Stage
	// Default makes it the workspace's default pipeline.
	Default bool
}

// Pipelines manages pipelines.
type Pipelines struct{ s *Service }

// Create adds a pipeline. Stages need unique keys, probabilities from 0 to
// 100, and at least one open, one won and one lost stage.
func (ps *Pipelines) Create(ctx context.Context, in NewPipeline) (*Pipeline, error) {
	p := &Pipeline{Name: in.Name, Stages: in.Stages}
	if len(p.Stages) == 0 {
		p.Stages = DefaultStages()
	}
	if err := checkPipeline(p); err != nil {
		return nil, err
	}
	err := ps.s.store.RunInTx(ctx, func(ctx context.Context) error {
		if in.Default {
			if err := ps.clearDefault(ctx); err != nil {
				return err
			}
			p.IsDefault = true
		}
		return ps.s.t.pipelines.Insert(ctx, p)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (ps *Pipelines) clearDefault(ctx context.Context) error {
	page, err := ps.s.t.pipelines.List(ctx, storage.ListQuery{Filter: storage.Eq("is_default", true)})
	if err != nil {
		return err
	}
	for _, old := range page.Items {
		n := *old
		n.IsDefault = false
		if err := ps.s.t.pipelines.Update(ctx, old, &n); err != nil {
			return err
		}
	}
	return nil
}

func checkPipeline(p *Pipeline) error {
	var v storage.ValidationError
	storage.TrimText(&v, "name", &p.Name, MaxTextLen)
	if p.Name == "" {
		v.Add("name", "is required")
	}
	kinds := map[StageKind]int{}
	keys := map[string]bool{}
	for i := range p.Stages {
		st := &p.Stages[i]
		f := fmt.Sprintf("stages[%d]", i)
		st.Key = strings.TrimSpace(st.Key)
		st.Name = strings.TrimSpace(st.Name)
		if !storage.ValidKey(st.Key) {
			v.Add(f+".key", "%q must be lower-case letters, digits and underscores, starting with a letter", st.Key)
		} else if keys[st.Key] {
			v.Add(f+".key", "%q is used twice", st.Key)
		}
		keys[st.Key] = true
		if st.Name == "" {
			st.Name = st.Key
		}
		if st.Probability < 0 || st.Probability > 100 {
			v.Add(f+".probability", "%d is outside 0–100", st.Probability)
		}
		switch st.Kind {
		case StageOpen, StageWon, StageLost:
			kinds[st.Kind]++
		default:
			v.Add(f+".kind", "%q is not open, won or lost", st.Kind)
		}
	}
	if kinds[StageOpen] == 0 || kinds[StageWon] == 0 || kinds[StageLost] == 0 {
		v.Add("stages", "need at least one open, one won and one lost stage")
	}
	return v.Err()
}

// Get returns the pipeline with id.
func (ps *Pipelines) Get(ctx context.Context, id string) (*Pipeline, error) {
	return ps.s.t.pipelines.Get(ctx, id)
}

// List returns a page of pipelines.
func (ps *Pipelines) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Pipeline], error) {
	return ps.s.t.pipelines.List(ctx, q)
}

// Default returns the workspace's default pipeline, creating it (named
// DefaultPipelineName, with DefaultStages) the first time it is asked for.
func (ps *Pipelines) Default(ctx context.Context) (*Pipeline, error) {
	p, _, err := storage.FirstOrCreate(ctx, ps.s.store, ps.s.t.pipelines, storage.Eq("is_default", true), func(ctx context.Context) (*Pipeline, error) {
		return ps.Create(ctx, NewPipeline{Name: DefaultPipelineName, Default: true})
	})
	return p, err
}

// UpdatePipeline changes a pipeline; nil fields stay as they are.
type UpdatePipeline struct {
	Name *string
	// Stages replaces the stages. A stage that opportunities are in cannot
	// be removed (ErrConflict).
	Stages *[]Stage
	// Default, when true, makes the pipeline the workspace's default.
	Default *bool
}

// Update changes a pipeline.
func (ps *Pipelines) Update(ctx context.Context, id string, in UpdatePipeline) (*Pipeline, error) {
	return storage.Modify(ctx, ps.s.store, ps.s.t.pipelines, id, 0, func(ctx context.Context, p *Pipeline) error {
		prev := p.Stages
		storage.Set(&p.Name, in.Name)
		storage.Set(&p.Stages, in.Stages)
		if err := checkPipeline(p); err != nil {
			return err
		}
		for _, st := range prev {
			if _, ok := p.Stage(st.Key); ok {
				continue
			}
			n, err := ps.s.t.opps.Count(ctx, storage.And{storage.Eq("pipeline_id", id), storage.Eq("stage", st.Key)})
			if err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%w: stage %q holds %d opportunities; move them first", storage.ErrConflict, st.Key, n)
			}
		}
		if in.Default != nil && *in.Default && !p.IsDefault {
			if err := ps.clearDefault(ctx); err != nil {
				return err
			}
			p.IsDefault = true
		}
		return nil
	})
}
