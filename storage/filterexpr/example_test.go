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

// Fields of a related record: the schema names them through the relation,
// and an in-memory match reads the related record from the Record; without
// one its fields are missing.
func ExampleSchema_Relate() {
	schema := filterexpr.Schema{"first_name": filterexpr.Text}
	schema.Relate("account", filterexpr.Schema{"industry": filterexpr.Text, "custom.tier": filterexpr.Text})
	e, err := filterexpr.Compile("account.industry == 'Software' || account.custom.tier == nil", schema)
	if err != nil {
		log.Fatal(err)
	}
	now := time.Now()
	fmt.Printf("%v\n", e.Filter(now))
	for _, rec := range []filterexpr.Record{
		{"first_name": "Ada", "account": filterexpr.Record{"industry": "Retail", "custom": map[string]any{"tier": "gold"}}},
		{"first_name": "Grace", "account": filterexpr.Record{"industry": "Software"}},
		{"first_name": "Alan"}, // no account: its fields are missing
	} {
		ok, _ := e.Match(rec, now)
		fmt.Println(rec["first_name"], ok)
	}
	// Output:
	// [{account.industry == Software} {account.custom.tier empty <nil>}]
	// Ada false
	// Grace true
	// Alan true
}
