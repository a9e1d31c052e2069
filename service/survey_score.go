package service

import (
	"context"
	"time"

	"github.com/crmkit/crm/storage"
)

// ScoreBy is what Surveys.Scores groups the answers by.
type ScoreBy string

// The groupings of scores.
const (
	// ByNone gives one score of every answer.
	ByNone ScoreBy = ""
	// ByAgent gives a score per agent: the case's owner when the survey
	// was made.
	ByAgent ScoreBy = "agent"
	// ByTeam gives a score per team: the case's team when the survey was
	// made.
	ByTeam ScoreBy = "team"
)

// ScoreQuery selects the answers Surveys.Scores scores.
type ScoreQuery struct {
	Kind SurveyKind
	// From and To bound the answers' AnsweredAt to [From, To); a zero
	// bound is open.
	From, To time.Time
	By       ScoreBy
	// Period, when set (day, week, month, quarter, year), also groups the
	// answers by period of their AnsweredAt, in Location (nil: UTC).
	Period   storage.TimeBucket
	Location *time.Location
}

// SurveyScore is the score of one group of answers.
type SurveyScore struct {
	// Group is the agent's (a member ID) or the team's ID, by the query's
	// By; "" for the answers of cases that had none, and with ByNone.
	Group string
	// Period is the start of the group's period when the query has one.
	Period time.Time
	// Value is the score: for CSAT the percentage of satisfied answers
	// (4–5) among all (0–100); for NPS the percentage of promoters (9–10)
	// minus that of detractors (0–6) (−100–100); for CES the mean score
	// (1–7).
	Value float64
	// Answers is how many answers the score is computed from.
	Answers int64
	// Satisfied counts the CSAT answers of 4–5; Promoters, Passives and
	// Detractors the NPS answers of 9–10, 7–8 and 0–6.
	Satisfied                       int64
	Promoters, Passives, Detractors int64
}

// Scores computes the scores of the answered surveys of q.Kind, per q.By
// and q.Period, in the store (one aggregate statement, counting answers
// by their scores' bands, or averaging them), over the surveys the
// context's member may read (an agent whose role reads its own records
// gets its own cases' scores). Groups come in the order of their values;
// a group without answers is not there. A bad kind, grouping or period is
// ErrInvalid naming the field.
func (sv *Surveys) Scores(ctx context.Context, q ScoreQuery) ([]SurveyScore, error) {
	var v storage.ValidationError
	if _, _, ok := q.Kind.Scale(); !ok {
		v.Add("kind", "%q is not csat, nps or ces", q.Kind)
	}
	aq := storage.AggregateQuery{
		Filter:   storage.And{storage.Eq("kind", string(q.Kind)), storage.Gt("answered_at", time.Time{}), storage.InPeriod("answered_at", q.From, q.To)},
		Location: q.Location,
		Measures: []storage.Measure{{Op: storage.AggCount}},
	}
	switch q.By {
	case ByNone:
	case ByAgent:
		aq.GroupBy = []string{"owner_id"}
	case ByTeam:
		aq.GroupBy = []string{"team_id"}
	default:
		v.Add("by", "%q is not agent, team or none", q.By)
	}
	switch q.Period {
	case "":
	case storage.BucketDay, storage.BucketWeek, storage.BucketMonth, storage.BucketQuarter, storage.BucketYear:
		aq.Groups = []storage.Group{{Field: "answered_at", Bucket: q.Period}}
	default:
		v.Add("period", "%q is not day, week, month, quarter or year", q.Period)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	switch q.Kind {
	case SurveyCSAT:
		aq.Measures = append(aq.Measures, storage.Measure{Op: storage.AggCount, Where: storage.Ge("score", 4)})
	case SurveyNPS:
		aq.Measures = append(aq.Measures, storage.Measure{Op: storage.AggCount, Where: storage.Ge("score", 9)},
			storage.Measure{Op: storage.AggCount, Where: storage.Le("score", 6)})
	case SurveyCES:
		aq.Measures = append(aq.Measures, storage.Measure{Op: storage.AggAvg, Field: "score"})
	}
	rows, err := sv.s.store.Aggregate(ctx, ObjectSurvey, aq)
	if err != nil {
		return nil, err
	}
	out := make([]SurveyScore, 0, len(rows))
	for _, r := range rows {
		sc := SurveyScore{Answers: r.Values[0].(int64)}
		g := r.Group
		if q.By != ByNone {
			sc.Group, _ = g[0].(string)
			g = g[1:]
		}
		if q.Period != "" {
			sc.Period, _ = g[0].(time.Time)
		}
		if sc.Answers == 0 {
			continue
		}
		n := float64(sc.Answers)
		switch q.Kind {
		case SurveyCSAT:
			sc.Satisfied = r.Values[1].(int64)
			sc.Value = 100 * float64(sc.Satisfied) / n
		case SurveyNPS:
			sc.Promoters, sc.Detractors = r.Values[1].(int64), r.Values[2].(int64)
			sc.Passives = sc.Answers - sc.Promoters - sc.Detractors
			sc.Value = 100 * float64(sc.Promoters-sc.Detractors) / n
		case SurveyCES:
			sc.Value, _ = r.Values[1].(float64)
		}
		out = append(out, sc)
	}
	return out, nil
}

// The names of the survey KPIs (Service.KPIs).
const (
	KPICSAT = "csat"
	KPINPS  = "nps"
	KPICES  = "ces"
)

// surveyKPIs are the survey KPIs, each one value over the surveys
// answered in the period that the context's member may read.
func (s *Service) surveyKPIs() []storage.KPI {
	kpi := func(kind SurveyKind, ratio bool) func(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
		return func(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
			sc, err := s.Surveys.Scores(ctx, ScoreQuery{Kind: kind, From: from, To: to})
			if err != nil || len(sc) == 0 {
				return []storage.KPIValue{{}}, err
			}
			v := storage.KPIValue{Value: sc[0].Value, Valid: true, Count: sc[0].Answers}
			if ratio {
				v.Value /= 100
			}
			return []storage.KPIValue{v}, nil
		}
	}
	return []storage.KPI{
		{Name: KPICSAT, Title: "Customer satisfaction (CSAT)", Unit: storage.UnitRatio,
			Formula: "CSAT answers of 4–5 ÷ CSAT answers, surveys answered in the period (answered_at)",
			Compute: kpi(SurveyCSAT, true)},
		{Name: KPINPS, Title: "Net promoter score (NPS)", Unit: storage.UnitScore,
			Formula: "% of NPS answers of 9–10 − % of NPS answers of 0–6, surveys answered in the period (answered_at)",
			Compute: kpi(SurveyNPS, false)},
		{Name: KPICES, Title: "Customer effort score (CES)", Unit: storage.UnitScore,
			Formula: "mean CES answer (1–7), surveys answered in the period (answered_at)",
			Compute: kpi(SurveyCES, false)},
	}
}
