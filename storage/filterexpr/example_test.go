package filterexpr_test

import (
	"fmt"
	"log"
	"time"

	"github.com/crmkit/crm/storage/filterexpr"
)

// One expression, two evaluators: a filter tree for the stores' SQL, and an
// in-memory match for single records.
func Example() {
	schema := filterexpr.Schema{"lifecycle": filterexpr.Text, "tags": filterexpr.TextList,
		"created_at": filterexpr.Time, "custom.score": filterexpr.Number}
	e, err := filterexpr.Compile("lifecycle == 'customer' && 'vip' in tags && created_at > daysAgo(30)", schema)
	if err != nil {
		log.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	fmt.Printf("%v\n", e.Filter(now))
	ok, _ := e.Match(filterexpr.Record{"lifecycle": "customer", "tags": []string{"vip"}, "created_at": now.AddDate(0, 0, -2)}, now)
	fmt.Println(ok)
	_, err = filterexpr.Compile("custom.score > 'high'", schema)
	fmt.Println(err)
	// Output:
	// [[{lifecycle == customer} {tags contains vip}] {created_at > 2026-10-24 00:00:00 +0000 UTC}]
	// true
	// invalid input: expression: line 1, column 16: "\"high\"" is text; the field is number
}
