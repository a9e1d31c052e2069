package storage

import (
	"context"
	"time"
)

// AggOp is an aggregate function of a Measure.
type AggOp string

// The aggregate functions.
const (
	// AggCount counts the records (Field empty) or the records whose
	// Field is not empty.
	AggCount AggOp = "count"
	// AggCountDistinct counts the distinct non-empty values of Field.
	AggCountDistinct AggOp = "count_distinct"
	// AggSum adds up Field, an integer or number field.
	AggSum AggOp = "sum"
	// AggAvg is the mean of Field, an integer or number field.
	AggAvg AggOp = "avg"
	// AggMin and AggMax are the least and greatest value of Field.
	AggMin AggOp = "min"
	AggMax AggOp = "max"
)

// Measure is one figure of an aggregate query.
type Measure struct {
	// Op is the aggregate function.
	Op AggOp
	// Field is the field measured: a stored field name, never a custom or
	// related one. Empty with AggCount counts records.
	Field string
	// Where, when set, limits the measure to the records it matches, such
	// as the won deals among all those grouped (SUM(CASE WHEN …)).
	Where Filter
}

// AggregateQuery groups the records of one type and measures each group,
// in one statement.
type AggregateQuery struct {
	// Filter keeps only the records it matches; nil keeps all.
	Filter Filter
	// GroupBy are the fields grouped by, in order; none gives one group of
	// every record (no row when there is no record).
	GroupBy []string
	// Measures are the figures of each group; at least one.
	Measures []Measure
}

// AggregateRow is one group of an aggregate query.
type AggregateRow struct {
	// Group holds the group's value of each GroupBy field, typed as the
	// field is: string, int64, float64, bool or time.Time.
	Group []any
	// Values holds each measure's value: int64 for counts and for sums of
	// integer fields, float64 for averages and sums of number fields, the
	// field's type for AggMin and AggMax; nil when no record of the group
	// has a value.
	Values []any
}

// Aggregator groups and measures records in the store, inside the
// context's workspace and the principal's read scope: a group never holds
// a record the principal may not read, and grouping by, measuring or
// filtering on a field hidden from it is ErrForbidden. Bad field names or
// functions are ErrInvalid. Rows come ordered by their group values.
type Aggregator interface {
	Aggregate(ctx context.Context, recordType string, q AggregateQuery) ([]AggregateRow, error)
}

// RollupRow is one group of a rollup.
type RollupRow struct {
	// Keys are the group's values of the rollup's Keys.
	Keys []string
	// Count is how many records the group holds.
	Count int64
	// Sums are the group's sums of the rollup's Sums.
	Sums []int64
}

// Rollups reads the running totals of record types (TypeOptions.Rollups).
type Rollups interface {
	// Rollup returns the groups of the rollup name of recordType whose
	// first keys are match (a prefix of the rollup's keys; none returns
	// every group), ordered by their keys, leaving out groups of no
	// record. For a principal whose read scope on the type is not all, the
	// store computes the same figures from the records the principal may
	// read instead (an Aggregate): the totals cannot know which records
	// those are. A field of the rollup hidden from the principal is
	// ErrForbidden.
	Rollup(ctx context.Context, recordType, name string, match ...string) ([]RollupRow, error)
}

// TimelineEntry is one entry of a record's timeline: a record that shows
// in it (an activity) or a change event.
type TimelineEntry struct {
	// At is the entry's time: the record's TimelineAt field, or the
	// event's OccurredAt.
	At time.Time
	// Record is set for a record entry.
	Record Record
	// Event is set for a change event entry.
	Event *Event
}

// Timeliner reads records' timelines.
type Timeliner interface {
	// Timeline returns, newest first, the records of the types with a
	// TimelineAt that link to ref, the change events of ref, and those of
	// the records of types with TimelineEvents that link to ref, each
	// within the principal's read scope.
	Timeline(ctx context.Context, ref Ref, q PageQuery) (Page[TimelineEntry], error)
}
