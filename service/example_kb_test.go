package service_test

import (
	"context"
	"fmt"
	"log"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/sqlite"
)

// A knowledge-base article is written in Markdown, published, found by the
// help center, suggested for a case, and voted on.
func Example_knowledgeBase() {
	ctx := storage.WithWorkspace(context.Background(), "acme")
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithModules(contacts.Module(), service.Module()))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	desk := service.NewService(store, contacts.NewService(store, contacts.Options{}), service.Options{})
	kb := desk.Articles

	howto, err := desk.ArticleCategories.Create(ctx, service.NewArticleCategory{Name: "How-to"})
	if err != nil {
		log.Fatal(err)
	}
	a, err := kb.Create(ctx, service.NewArticle{Title: "Clean the printer", CategoryID: howto.ID,
		Body: "Unplug it, then **wipe** the rollers. <script>alert(1)</script>"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Slug, a.Status, a.HTML)

	hits, _ := kb.PublicSearch(ctx, "printer", service.ArticleSearch{})
	fmt.Println("public hits while a draft:", len(hits))
	a, _ = kb.SetStatus(ctx, a.ID, service.ArticlePublic)
	hits, _ = kb.PublicSearch(ctx, "print roll", service.ArticleSearch{})
	fmt.Println("public hits once public:", len(hits), hits[0].Article.Title)

	c, _ := desk.Cases.Create(ctx, service.NewCase{Subject: "Streaks on every page", Description: "The printer leaves streaks."})
	hits, _ = kb.Suggest(ctx, c.ID, 3)
	fmt.Println("suggested:", hits[0].Article.Title)

	_, _ = kb.Vote(ctx, a.ID, service.Voter{VisitorKey: "cookie-1"}, true)
	_, _ = kb.Vote(ctx, a.ID, service.Voter{VisitorKey: "cookie-2"}, false)
	a, _ = kb.Vote(ctx, a.ID, service.Voter{VisitorKey: "cookie-2"}, true) // changed their mind
	fmt.Println("votes:", a.HelpfulVotes, a.UnhelpfulVotes, a.Score())
	// Output:
	// clean-the-printer draft <p>Unplug it, then <strong>wipe</strong> the rollers. </p>
	// public hits while a draft: 0
	// public hits once public: 1 Clean the printer
	// suggested: Clean the printer
	// votes: 2 0 1
}
