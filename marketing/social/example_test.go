package social_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/marketing"
	"github.com/crmkit/crm/marketing/social"
	"github.com/crmkit/crm/storage/sqlite"
	"github.com/crmkit/crm/workflow/webhook"
)

// A host schedules a post to a webhook channel; the relay it runs checks
// the signature, puts the post on the network and answers with where it
// went, which the post keeps.
func Example() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header, body, 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var p social.Payload
		_ = json.Unmarshal(body, &p)
		fmt.Printf("relay: %s %q %s\n", p.Channel, p.Text, p.Link)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(social.Answer{ExternalID: "li-42", URL: "https://social.example/p/42"})
	}))
	defer relay.Close()

	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	linkedin, err := social.NewWebhook(social.WebhookConfig{Name: "linkedin", URL: relay.URL + "/posts", Secret: secret,
		// The relay is on this host, which the guard refuses unless allowed.
		Sender: webhook.New(webhook.Config{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})})
	if err != nil {
		log.Fatal(err)
	}
	app, err := crm.New(ctx, store, crm.Config{Marketing: marketing.Options{Channels: []marketing.Channel{linkedin}}})
	if err != nil {
		log.Fatal(err)
	}
	ctx = crm.WithActor(ctx, "alice")
	camp, err := app.Marketing.Campaigns.Create(ctx, marketing.NewCampaign{Name: "Spring Sale", Type: marketing.CampaignSocial})
	if err != nil {
		log.Fatal(err)
	}
	post, err := app.Marketing.Social.Schedule(ctx, marketing.NewPost{Channel: "linkedin", Text: "Spring is here",
		Link: "https://shop.example/spring", CampaignID: camp.ID})
	if err != nil {
		log.Fatal(err)
	}
	// A host runs Publish every minute or so; it puts out what is due.
	rep, err := app.Marketing.Social.Publish(ctx)
	if err != nil {
		log.Fatal(err)
	}
	post, err = app.Marketing.Social.Get(ctx, post.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("published:", rep.Published, post.Status, post.ExternalID, post.URL)
	// Output:
	// relay: linkedin "Spring is here" https://shop.example/spring?utm_source=linkedin&utm_medium=social&utm_campaign=spring-sale
	// published: 1 published li-42 https://social.example/p/42
}
