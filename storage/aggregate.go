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
	// AggRatio divides one earlier measure of the query by another
	// (Measure.Of): a win rate, an average of a sum over a count. Its value
	// is a float64, nil when the denominator is 0 or nil.
	AggRatio AggOp = "ratio"
)

// TimeBucket cuts the values of a time field into periods (the group's
// value is the period's start, in the query's Location), or reads one part
// of them (an int64).
type TimeBucket string

// The time buckets.
const (
	BucketDay     TimeBucket = "day"
	BucketWeek    TimeBucket = "week" // starting on AggregateQuery.WeekStart
	BucketMonth   TimeBucket = "month"
	BucketQuarter TimeBucket = "quarter"
	BucketYear    TimeBucket = "year"
	// BucketWeekday is the day of the week, 0 (Sunday) to 6.
	BucketWeekday TimeBucket = "weekday"
	// BucketMonthOfYear is the month, 1 to 12.
	BucketMonthOfYear TimeBucket = "month_of_year"
)

// Group is one grouping of an aggregate query: by a field's values, or by
// periods of a time field.
type Group struct {
	// Field is a stored field, "custom.<name>" (grouped by its text), or a
	// field of a related record ("account.industry": storage.Referrer, or
	// an extension's "rfm.segment": ReferencesOf lists both), read as the
	// principal may read that record.
	Field string
	// Bucket, for a time field, groups by period (or part) instead of by
	// instant. A zero time is no value: its group's value is nil.
	Bucket TimeBucket
}

// Having keeps the groups whose measure Measure (an index into
// AggregateQuery.Measures) compares with Value, a number, by Op (OpEq,
// OpNe, OpGt, OpGe, OpLt, OpLe). A group whose measure is nil is left
// out.
type Having struct {
	Measure int
	Op      Op
	Value   float64
}

// AggSort orders the rows by one of their columns: Column indexes the
// groups first, then the measures. Nil values sort last either way.
type AggSort struct {
	Column int
	Desc   bool
}

// BucketOf returns the bucket of t: the start of its period, in loc, for
// the periods (day, week starting on weekStart, month, quarter, year), or
// its weekday (0 = Sunday) or month (1–12) in loc, as an int64. A zero t
// has no bucket (nil). It is the definition both adapters compute in SQL.
func BucketOf(t time.Time, b TimeBucket, loc *time.Location, weekStart time.Weekday) any {
	if t.IsZero() {
		return nil
	}
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	y, m, d := t.Date()
	switch b {
	case BucketDay:
		return time.Date(y, m, d, 0, 0, 0, 0, loc)
	case BucketWeek:
		back := (int(t.Weekday()) - int(weekStart) + 7) % 7
		return time.Date(y, m, d-back, 0, 0, 0, 0, loc)
	case BucketMonth:
		return time.Date(y, m, 1, 0, 0, 0, 0, loc)
	case BucketQuarter:
		return time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, loc)
	case BucketYear:
		return time.Date(y, 1, 1, 0, 0, 0, 0, loc)
	case BucketWeekday:
		return int64(t.Weekday())
	case BucketMonthOfYear:
		return int64(m)
	}
	return nil
}

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
	// Of, for AggRatio, are the indexes of the numerator and the
	// denominator among the query's earlier measures (not ratios).
	Of [2]int
	// Since, with a time Field, measures the span from the record's Since
	// (another time field) to its Field, in seconds (a float64), over the
	// records where both are set: the average sales cycle is AggAvg of
	// closed_at Since created_at. With AggSum, AggAvg, AggMin or AggMax.
	Since string
}

// AggregateQuery groups the records of one type and measures each group,
// in one statement.
type AggregateQuery struct {
	// Each, when set, names a list-of-objects field of the record type
	// (such as an opportunity's stage_history, one element per stay in a
	// stage): the query groups and measures the elements of that list,
	// each record counting once per element, in place of the records. The
	// element's keys are fields named "<Each>.<key>" (stage_history.stage,
	// stage_history.entered_at), typed as the element struct's fields are,
	// usable in GroupBy, Groups, Measures and Filter beside the record's
	// own fields; a Filter on the record's fields keeps or drops all its
	// elements. The record's read scope applies, and the keys are as
	// hidden as the list. Times are compared to the millisecond on SQLite.
	Each string
	// Filter keeps only the records it matches; nil keeps all.
	Filter Filter
	// GroupBy are the fields grouped by, in order; none gives one group of
	// every record (no row when there is no record).
	GroupBy []string
	// Groups are further groupings, after GroupBy's: by custom fields, by
	// fields of related records and by periods of time fields.
	Groups []Group
	// Location is the time zone of the time buckets (an IANA zone, such as
	// time.LoadLocation("Europe/Paris") returns); nil is UTC.
	Location *time.Location
	// WeekStart is the first day of BucketWeek's weeks (default Sunday).
	WeekStart time.Weekday
	// Measures are the figures of each group; at least one.
	Measures []Measure
	// Having keeps only the groups that meet every condition.
	Having []Having
	// Sort orders the rows; none orders them by their group values.
	Sort []AggSort
	// Limit bounds the rows returned; 0 returns every group.
	Limit int
}

// AggregateRow is one group of an aggregate query.
type AggregateRow struct {
	// Group holds the group's value of each GroupBy field, then of each
	// Groups entry, typed as the field is: string, int64, float64, bool or
	// time.Time; a custom field's as its text; a bucket's as BucketOf's.
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
