// Package social has the channels of the marketing module's social posts
// that need the network. Webhook, the default, posts each post as a
// signed webhook (workflow/webhook's Standard Webhooks signature and
// address guard) to a relay the host runs, which puts it on the social
// network and may answer with the post's ID and URL there.
package social

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmkit/crm/marketing"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow/send"
	"github.com/crmkit/crm/workflow/webhook"
)

// EventPublish is the type of the payload Webhook posts.
const EventPublish = "social_post.publish"

// Payload is the JSON body Webhook posts for a post; its ID is also the
// webhook-id header, the same on every attempt, so that a relay drops a
// repeat.
type Payload struct {
	Type        string    `json:"type"` // EventPublish
	ID          string    `json:"id"`
	WorkspaceID string    `json:"workspace_id"`
	Channel     string    `json:"channel"`
	Text        string    `json:"text"`
	Link        string    `json:"link,omitempty"`
	CampaignID  string    `json:"campaign_id,omitempty"`
	ScheduledAt time.Time `json:"scheduled_at"`
	Attempt     int       `json:"attempt"`
}

// Answer is what a relay may answer with (a 2xx JSON body): where the
// post went. Any other 2xx body, or none, is a success without them.
type Answer struct {
	ExternalID string `json:"external_id"`
	URL        string `json:"url"`
}

// WebhookConfig configures a Webhook channel.
type WebhookConfig struct {
	// Name is the channel's name (marketing.Channel): a key, such as
	// "linkedin". Required.
	Name string
	// URL is where posts are posted: an absolute http(s) URL. Required.
	URL string
	// Secret signs each call: "whsec_" and the key in base64. Default:
	// none (calls are unsigned).
	Secret string
	// Headers are further headers of each call, such as an API key.
	Headers map[string]string
	// Sender makes the calls. Default: webhook.New(webhook.Config{}),
	// which refuses private and loopback addresses.
	Sender *webhook.Sender
}

// Webhook is a marketing.Channel that posts each post as a signed JSON
// webhook (Payload). It is safe for concurrent use.
type Webhook struct {
	cfg WebhookConfig
}

var _ marketing.Channel = (*Webhook)(nil)

// NewWebhook returns the channel cfg configures. A bad name, URL or
// secret is a *storage.ValidationError naming the field.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	var v storage.ValidationError
	if !storage.ValidKey(cfg.Name) {
		v.Add("name", "%q must be lower-case letters, digits and underscores", cfg.Name)
	}
	if u, err := url.Parse(cfg.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.Add("url", "%q is not an absolute http(s) URL", cfg.URL)
	}
	if cfg.Secret != "" {
		if _, err := webhook.DecodeSecret(cfg.Secret); err != nil {
			v.Add("secret", "want %q and the key in standard base64", webhook.SecretPrefix)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if cfg.Sender == nil {
		cfg.Sender = webhook.New(webhook.Config{})
	}
	return &Webhook{cfg: cfg}, nil
}

// Name returns the channel's name.
func (w *Webhook) Name() string { return w.cfg.Name }

// Publish posts p's Payload to the URL and returns the relay's Answer. Its
// errors are webhook.Sender's: a refused address, a bad URL and a 4xx
// response other than 408, 425 and 429 are permanent (send.Permanent),
// the rest is tried again by a later Publish.
func (w *Webhook) Publish(ctx context.Context, p marketing.Post) (marketing.Published, error) {
	body, err := json.Marshal(Payload{Type: EventPublish, ID: p.ID, WorkspaceID: p.WorkspaceID, Channel: p.Channel, Text: p.Text,
		Link: p.Link, CampaignID: p.CampaignID, ScheduledAt: p.ScheduledAt, Attempt: p.Attempts})
	if err != nil {
		return marketing.Published{}, send.Permanent(err)
	}
	resp, err := w.cfg.Sender.Call(ctx, send.WebhookRequest{ID: p.ID, URL: w.cfg.URL, Body: body, Secret: w.cfg.Secret,
		Headers: w.cfg.Headers})
	if err != nil {
		return marketing.Published{}, err
	}
	var a Answer
	if isJSON(resp.Header) && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(resp.Body, &a); err != nil {
			// It went out: a reply that cannot be read loses only its
			// ID and URL, and trying again would post it twice.
			a = Answer{}
		}
	}
	if len(a.ExternalID) > marketing.MaxTextLen || len(a.URL) > 2000 {
		return marketing.Published{}, nil
	}
	return marketing.Published{ExternalID: a.ExternalID, URL: a.URL}, nil
}

// isJSON reports whether a response's Content-Type is JSON.
func isJSON(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}
