package sales_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/sqlite"
)

// A lead is captured, converted into an account, a contact and a deal, and
// the deal is moved through the default pipeline to won.
func Example() {
	ctx := storage.WithWorkspace(context.Background(), "acme")
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithModules(contacts.Module(), sales.Module()))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	people := contacts.NewService(store, contacts.Options{})
	s := sales.NewService(store, people, sales.Options{})

	lead, err := s.Leads.Capture(ctx, sales.NewLead{FirstName: "Ada", LastName: "Lovelace",
		Email: "ada@analytical.example", Company: "Analytical Engines", Source: "web form"})
	if err != nil {
		log.Fatal(err)
	}
	res, err := s.Leads.Convert(ctx, lead.ID, sales.ConvertOptions{CreateOpportunity: true,
		Opportunity: sales.NewOpportunity{Amount: storage.Money{Amount: 1_250_000, Currency: "EUR"}}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Account.Name, "/", res.Contact.Name(), "/", res.Opportunity.Name, res.Opportunity.Amount)

	deal, _ := s.Opportunities.MoveStage(ctx, res.Opportunity.ID, "proposal", sales.MoveOptions{})
	fmt.Println(deal.Stage, deal.Probability, deal.ForecastCategory)
	deal, _ = s.Opportunities.Win(ctx, deal.ID)
	fmt.Println(deal.Stage, deal.Probability, deal.ForecastCategory, len(deal.StageHistory))

	_, err = s.Leads.Convert(ctx, lead.ID, sales.ConvertOptions{})
	fmt.Println("converting again is a conflict:", errors.Is(err, storage.ErrConflict))
	// Output:
	// Analytical Engines / Ada Lovelace / Analytical Engines deal EUR 12500.00
	// proposal 50 pipeline
	// closed_won 100 closed 3
	// converting again is a conflict: true
}

// The pipeline summary and a quarter's forecast, computed in the store.
func ExampleForecasts() {
	ctx := storage.WithWorkspace(context.Background(), "acme")
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithModules(contacts.Module(), sales.Module()))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	s := sales.NewService(store, contacts.NewService(store, contacts.Options{}), sales.Options{})

	q1 := sales.Quarter(2027, 1)
	for i, stage := range []string{"prospecting", "proposal", "proposal", "negotiation"} {
		_, err := s.Opportunities.Create(ctx, sales.NewOpportunity{Name: fmt.Sprint("Deal ", i), Stage: stage,
			Amount: storage.Money{Amount: 10_000_00, Currency: "USD"}, ExpectedClose: q1.From.AddDate(0, 1, 0)})
		if err != nil {
			log.Fatal(err)
		}
	}
	p, _ := s.Pipelines.Default(ctx)
	summary, _ := s.Forecasts.Summary(ctx, p.ID)
	for _, r := range summary {
		fmt.Printf("%-12s %d deals %s weighted %s\n", r.Stage, r.Count,
			storage.Money{Amount: r.Amount, Currency: r.Currency}, storage.Money{Amount: r.Weighted, Currency: r.Currency})
	}
	rows, _ := s.Forecasts.Compute(ctx, sales.ForecastQuery{Period: q1})
	fmt.Printf("Q1 2027: pipeline %d, weighted %d (%s)\n", rows[0].Pipeline, rows[0].Weighted, rows[0].Currency)
	// Output:
	// prospecting  1 deals USD 10000.00 weighted USD 1000.00
	// proposal     2 deals USD 20000.00 weighted USD 10000.00
	// negotiation  1 deals USD 10000.00 weighted USD 7500.00
	// Q1 2027: pipeline 4000000, weighted 1850000 (USD)
}
