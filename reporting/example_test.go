package reporting_test

import (
	"context"
	"fmt"
	"log"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/reporting"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/storage/sqlite"
)

// A report groups the records of a type and measures each group in one
// statement: here won revenue and win rate per rep, with the reps' names.
func ExampleReports_Run() {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	app, err := crm.New(ctx, store, crm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	ada, err := app.Access.CreateMember(ctx, access.NewMember{Name: "Ada", Role: access.RoleRep})
	if err != nil {
		log.Fatal(err)
	}
	bob, err := app.Access.CreateMember(ctx, access.NewMember{Name: "Bob", Role: access.RoleRep})
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range []struct {
		owner, stage string
		amount       int64
	}{{ada.ID, "closed_won", 500_00}, {ada.ID, "closed_lost", 200_00}, {bob.ID, "closed_won", 300_00}, {bob.ID, "closed_won", 100_00}} {
		_, err := app.Sales.Opportunities.Create(ctx, sales.NewOpportunity{Name: "Deal", OwnerID: d.owner, Stage: d.stage,
			Amount: storage.Money{Amount: d.amount, Currency: "EUR"}})
		if err != nil {
			log.Fatal(err)
		}
	}
	res, err := app.Reporting.Reports.Run(ctx, reporting.Report{
		Name:    "Won revenue by rep",
		Object:  sales.ObjectOpportunity,
		GroupBy: []reporting.Grouping{{Field: "owner_id"}},
		Measures: []reporting.Measure{
			{Name: "deals", Op: storage.AggCount},
			{Name: "won", Op: storage.AggCount, Where: "stage == 'closed_won'"},
			{Name: "won_revenue", Op: storage.AggSum, Field: "amount", Where: "stage == 'closed_won'"},
			{Name: "win_rate", Op: storage.AggRatio, Of: [2]string{"won", "deals"}},
		},
		Sort: []reporting.Order{{By: "won_revenue", Desc: true}},
	}, reporting.Params{})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res.Rows {
		fmt.Printf("%s: %d deals, won %s, win rate %.0f%%\n", r.Labels[0], r.Values[1],
			storage.Money{Amount: r.Values[3].(int64), Currency: "EUR"}, 100*r.Values[4].(float64))
	}
	// Output:
	// Ada: 2 deals, won EUR 500.00, win rate 50%
	// Bob: 2 deals, won EUR 400.00, win rate 100%
}
