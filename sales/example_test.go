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
	store, err := sqlite.Open(ctx, ":memory:")
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
