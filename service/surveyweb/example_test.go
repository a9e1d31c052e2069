package surveyweb_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/service/surveyweb"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/sqlite"
)

// A solved case's CSAT survey is answered through its link: the GET shows
// the form, the POST records the answer, a second POST is refused.
func ExampleNew() {
	ctx := storage.WithWorkspace(context.Background(), "acme")
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithModules(contacts.Module(), service.Module()))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	people := contacts.NewService(store, contacts.Options{})

	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	defer srv.Close()
	desk := service.NewService(store, people, service.Options{Key: []byte("a secret key of thirty-two bytes or more"),
		BaseURL: srv.URL + "/service", CSATOnResolve: true})
	mux := http.NewServeMux()
	mux.Handle("/service/", http.StripPrefix("/service", surveyweb.New(desk, surveyweb.Options{Name: "Acme"})))
	h = mux

	ada, _ := people.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com"})
	c, _ := desk.Cases.Create(ctx, service.NewCase{Subject: "The printer smokes", ContactID: ada.ID})
	if _, err := desk.Cases.SetStatus(ctx, c.ID, "solved"); err != nil {
		log.Fatal(err)
	}
	page, _ := desk.Surveys.List(ctx, storage.ListQuery{Filter: storage.Eq("case_id", c.ID)})
	link, _ := desk.Surveys.Link(ctx, page.Items[0].ID)

	resp, _ := http.Get(link + "?score=5")
	resp.Body.Close()
	fmt.Println("GET:", resp.StatusCode)
	for range 2 {
		resp, _ = http.PostForm(link, url.Values{"score": {"5"}, "comment": {"Fixed in minutes."}})
		resp.Body.Close()
		fmt.Println("POST:", resp.StatusCode)
	}
	scores, _ := desk.Surveys.Scores(ctx, service.ScoreQuery{Kind: service.SurveyCSAT})
	fmt.Printf("CSAT %.0f%% of %d answer\n", scores[0].Value, scores[0].Answers)
	fmt.Println(strings.HasPrefix(link, srv.URL+"/service/s/"))
	// Output:
	// GET: 200
	// POST: 200
	// POST: 409
	// CSAT 100% of 1 answer
	// true
}
