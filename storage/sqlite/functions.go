package sqlite

import (
	"database/sql/driver"
	"fmt"
	"sync"
	"time"

	"github.com/crmkit/crm/storage"
	sqlite "modernc.org/sqlite"
)

// The SQL functions the store's statements call, registered with the
// driver for every connection it opens (a host's pool on the same driver
// included, when this package is imported).
func init() {
	sqlite.MustRegisterDeterministicScalarFunction("crm_time_bucket", 4, timeBucket)
}

// zones caches the locations crm_time_bucket loads, by name.
var zones sync.Map

// timeBucket is crm_time_bucket(t, bucket, zone, week_start): storage.BucketOf
// of the stored time t (text, as the store writes times) in the IANA zone:
// a period's start as "2006-01-02 15:04:05", a part as an integer, NULL for
// a zero or NULL time.
func timeBucket(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	var text string
	switch v := args[0].(type) {
	case nil:
		return nil, nil
	case string:
		text = v
	case []byte:
		text = string(v)
	default:
		return nil, fmt.Errorf("crm_time_bucket: a time as %T", v)
	}
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return nil, fmt.Errorf("crm_time_bucket: %w", err)
	}
	bucket, _ := args[1].(string)
	name, _ := args[2].(string)
	week, _ := args[3].(int64)
	loc, err := zone(name)
	if err != nil {
		return nil, err
	}
	switch v := storage.BucketOf(t, storage.TimeBucket(bucket), loc, time.Weekday(week)).(type) {
	case nil:
		return nil, nil
	case time.Time:
		return v.Format("2006-01-02 15:04:05"), nil
	case int64:
		return v, nil
	}
	return nil, fmt.Errorf("crm_time_bucket: %q is not a bucket", bucket)
}

func zone(name string) (*time.Location, error) {
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("crm_time_bucket: %w", err)
	}
	zones.Store(name, loc)
	return loc, nil
}
