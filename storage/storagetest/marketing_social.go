package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/marketing"
	"github.com/crmkit/crm/marketing/social"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow/webhook"
)

// relay is a social relay on localhost: a real HTTP server that records
// the posts it gets and answers as its mode says.
type relay struct {
	*httptest.Server
	secret string
	// mode is how it answers: 0 201 with the post's ID and URL, 1 503,
	// 2 400.
	mode  atomic.Int32
	mu    sync.Mutex
	calls []relayCall
}

type relayCall struct {
	header  http.Header
	payload social.Payload
	verify  error
}

func startRelay(t *testing.T) *relay {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	r := &relay{secret: webhook.SecretPrefix + base64.StdEncoding.EncodeToString(key)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		c := relayCall{header: req.Header.Clone(), verify: webhook.Verify(r.secret, req.Header, body, time.Minute)}
		if err := json.Unmarshal(body, &c.payload); err != nil {
			c.verify = errors.Join(c.verify, fmt.Errorf("body %q: %w", body, err))
		}
		r.mu.Lock()
		r.calls = append(r.calls, c)
		r.mu.Unlock()
		switch r.mode.Load() {
		case 1:
			http.Error(w, "relay down", http.StatusServiceUnavailable)
		case 2:
			http.Error(w, "text too long for the network", http.StatusBadRequest)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(social.Answer{ExternalID: "ext-" + c.payload.ID, URL: "https://social.example/p/" + c.payload.ID})
		}
	}))
	t.Cleanup(r.Close)
	return r
}

// got returns the calls so far.
func (r *relay) got() []relayCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]relayCall(nil), r.calls...)
}

// slowChannel holds each post it publishes until released, after saying
// which it holds.
type slowChannel struct {
	entered chan string
	release chan struct{}
}

func (c *slowChannel) Name() string { return "slow" }

func (c *slowChannel) Publish(ctx context.Context, p marketing.Post) (marketing.Published, error) {
	c.entered <- p.ID
	select {
	case <-c.release:
		return marketing.Published{ExternalID: "slow-" + p.ID}, nil
	case <-ctx.Done():
		return marketing.Published{}, ctx.Err()
	}
}

// testMarketingSocial checks social posts through a webhook channel to a
// relay on localhost (scheduling, validation, publishing when due and
// once, signed, under concurrent publishers, failures retried after a
// back-off or given up, a claim whose publisher stalls past the lease,
// updates and cancellation) and mentions (taken in
// once, matched to their author by a social profile, on the author's
// timeline, erased with them).
func testMarketingSocial(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ctx := e.ctx
	r := startRelay(t)
	sender := webhook.New(webhook.Config{Timeout: 10 * time.Second,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}})
	ch, err := social.NewWebhook(social.WebhookConfig{Name: "linkedin", URL: r.URL + "/posts", Secret: r.secret,
		Headers: map[string]string{"X-Relay-Key": "k1"}, Sender: sender})
	must(t, "channel", err)
	_, err = social.NewWebhook(social.WebhookConfig{Name: "Bad Name", URL: "ftp://relay", Secret: "raw"})
	wantFields(t, "a bad channel", err, "name", "url", "secret")
	var clock atomic.Int64
	now := func() time.Time { return storage.Truncate(time.Now().Add(time.Duration(clock.Load()))) }
	slow := &slowChannel{entered: make(chan string, 1), release: make(chan struct{})}
	app, err := crm.New(ctx, e.store, crm.Config{Marketing: marketing.Options{Channels: []marketing.Channel{ch, slow}, Now: now}})
	must(t, "crm", err)
	so := app.Marketing.Social

	// Two channels of one name: every call says so.
	dup := marketing.NewService(e.store, e.svc, e.sales(), marketing.Options{Channels: []marketing.Channel{ch, ch}})
	_, err = dup.Social.Schedule(ctx, marketing.NewPost{Channel: "linkedin", Text: "x"})
	wantFields(t, "a channel twice", err, "channels[1]")
	_, err = dup.Social.Publish(ctx)
	wantFields(t, "publish with a channel twice", err, "channels[1]")

	camp, err := app.Marketing.Campaigns.Create(ctx, marketing.NewCampaign{Name: "Spring Sale", Type: marketing.CampaignSocial,
		Channels: []string{"linkedin"}})
	must(t, "campaign", err)
	_, err = so.Schedule(ctx, marketing.NewPost{Channel: "myspace", Text: " ", Link: "ftp://shop.example", CampaignID: "nope"})
	wantFields(t, "a bad post", err, "channel", "text", "link", "campaign_id")
	_, err = so.Schedule(ctx, marketing.NewPost{Channel: "linkedin", Text: strings.Repeat("x", marketing.MaxPostLen+1)})
	wantFields(t, "a long post", err, "text")
	if n := count(t, ctx, storage.TableOf[*marketing.Post](e.store)); n != 0 {
		t.Fatalf("refused posts were written: %d", n)
	}

	due, err := so.Schedule(ctx, marketing.NewPost{Channel: "linkedin", Text: "Spring is here", CampaignID: camp.ID,
		Link: "https://shop.example/spring?ref=home#top"})
	must(t, "schedule", err)
	if due.Status != marketing.PostScheduled || due.Link != "https://shop.example/spring?ref=home&utm_source=linkedin&utm_medium=social&utm_campaign=spring-sale#top" {
		t.Fatalf("scheduled = %+v", due)
	}
	later, err := so.Schedule(ctx, marketing.NewPost{Channel: "linkedin", Text: "Later", At: now().Add(time.Hour)})
	must(t, "schedule later", err)

	rep, err := so.Publish(ctx)
	must(t, "publish", err)
	if rep.Published != 1 || rep.Failed != 0 {
		t.Fatalf("publish = %+v, want the due post alone", rep)
	}
	calls := r.got()
	if len(calls) != 1 {
		t.Fatalf("the relay got %d calls, want 1", len(calls))
	}
	c := calls[0]
	if c.verify != nil || c.header.Get(webhook.HeaderID) != due.ID || c.header.Get("X-Relay-Key") != "k1" {
		t.Errorf("call: verify %v, headers %v", c.verify, c.header)
	}
	want := social.Payload{Type: social.EventPublish, ID: due.ID, WorkspaceID: "ws-a", Channel: "linkedin", Text: "Spring is here",
		Link: due.Link, CampaignID: camp.ID, ScheduledAt: due.ScheduledAt, Attempt: 1}
	if !c.payload.ScheduledAt.Equal(want.ScheduledAt) {
		t.Errorf("payload scheduled_at %v, want %v", c.payload.ScheduledAt, want.ScheduledAt)
	}
	c.payload.ScheduledAt = want.ScheduledAt
	if c.payload != want {
		t.Errorf("payload = %+v\nwant %+v", c.payload, want)
	}
	got, err := so.Get(ctx, due.ID)
	must(t, "get", err)
	if got.Status != marketing.PostPublished || got.ExternalID != "ext-"+due.ID || got.URL != "https://social.example/p/"+due.ID ||
		got.Attempts != 1 || got.PublishedAt.IsZero() || !got.NextAt.IsZero() || got.Error != "" {
		t.Errorf("published = %+v", got)
	}
	if got, _ := so.Get(ctx, later.ID); got.Status != marketing.PostScheduled || got.Attempts != 0 {
		t.Errorf("the post not due = %+v", got)
	}
	rep, err = so.Publish(ctx)
	must(t, "publish again", err)
	if rep.Published != 0 || len(r.got()) != 1 {
		t.Errorf("publishing again = %+v, %d calls", rep, len(r.got()))
	}

	// Updates and cancellation of what has not gone out.
	_, err = so.Update(ctx, due.ID, 0, marketing.UpdatePost{Text: ptr("Too late")})
	wantErr(t, "update a published post", err, storage.ErrConflict)
	_, err = so.Update(ctx, later.ID, 0, marketing.UpdatePost{Text: ptr(""), Link: ptr("not a url")})
	wantFields(t, "a bad update", err, "text", "link")
	edited, err := so.Update(ctx, later.ID, later.Version, marketing.UpdatePost{Text: ptr("Later, edited"), At: ptr(now().Add(2 * time.Hour))})
	must(t, "update", err)
	if edited.Text != "Later, edited" || !edited.NextAt.Equal(edited.ScheduledAt) || edited.Status != marketing.PostScheduled {
		t.Errorf("updated = %+v", edited)
	}
	_, err = so.Update(ctx, later.ID, later.Version, marketing.UpdatePost{Text: ptr("stale")})
	wantErr(t, "a stale update", err, storage.ErrStale)
	canceled, err := so.Cancel(ctx, later.ID)
	must(t, "cancel", err)
	if canceled.Status != marketing.PostCanceled || !canceled.NextAt.IsZero() {
		t.Errorf("canceled = %+v", canceled)
	}
	if again, err := so.Cancel(ctx, later.ID); err != nil || again.Version != canceled.Version {
		t.Errorf("cancel twice: %v, %+v", err, again)
	}
	_, err = so.Cancel(ctx, due.ID)
	wantErr(t, "cancel a published post", err, storage.ErrConflict)
	clock.Add(int64(3 * time.Hour))
	if rep, err := so.Publish(ctx); err != nil || rep.Published != 0 || len(r.got()) != 1 {
		t.Errorf("a canceled post was published: %+v, %v", rep, err)
	}

	// A relay that fails: the post fails with the error, and is tried
	// again once its back-off is over.
	r.mode.Store(1)
	flaky, err := so.Schedule(ctx, marketing.NewPost{Channel: "linkedin", Text: "Flaky"})
	must(t, "schedule flaky", err)
	rep, err = so.Publish(ctx)
	must(t, "publish to a failing relay", err)
	if rep.Failed != 1 || rep.Retrying != 1 || rep.Published != 0 {
		t.Errorf("publish to a failing relay = %+v", rep)
	}
	failed, err := so.Get(ctx, flaky.ID)
	must(t, "get failed", err)
	if failed.Status != marketing.PostFailed || !strings.Contains(failed.Error, "503") || failed.Attempts != 1 || !failed.NextAt.After(now()) {
		t.Errorf("failed = %+v", failed)
	}
	r.mode.Store(0)
	if rep, _ := so.Publish(ctx); rep.Published != 0 {
		t.Errorf("a failed post was tried again before its back-off: %+v", rep)
	}
	clock.Add(int64(2 * time.Minute))
	rep, err = so.Publish(ctx)
	must(t, "retry", err)
	retried, _ := so.Get(ctx, flaky.ID)
	if rep.Published != 1 || retried.Status != marketing.PostPublished || retried.Attempts != 2 || retried.Error != "" {
		t.Errorf("retry = %+v, post %+v", rep, retried)
	}
	// A refusal (400) is final, until Update schedules the post again.
	r.mode.Store(2)
	refused, err := so.Schedule(ctx, marketing.NewPost{Channel: "linkedin", Text: "Refused"})
	must(t, "schedule refused", err)
	rep, err = so.Publish(ctx)
	must(t, "publish refused", err)
	if got, _ := so.Get(ctx, refused.ID); rep.Failed != 1 || rep.Retrying != 0 || got.Status != marketing.PostFailed ||
		!got.NextAt.IsZero() || !strings.Contains(got.Error, "400") {
		t.Errorf("refused: %+v, post %+v", rep, got)
	}
	r.mode.Store(0)
	_, err = so.Update(ctx, refused.ID, 0, marketing.UpdatePost{Text: ptr("Shorter")})
	must(t, "schedule a failed post again", err)
	if rep, err := so.Publish(ctx); err != nil || rep.Published != 1 {
		t.Errorf("a failed post scheduled again: %+v, %v", rep, err)
	}

	// Concurrent publishers put each post out once.
	const n = 12
	ids := map[string]bool{}
	for i := range n {
		p, err := so.Schedule(ctx, marketing.NewPost{Channel: "linkedin", Text: fmt.Sprintf("Post %d", i)})
		must(t, "schedule", err)
		ids[p.ID] = true
	}
	before := len(r.got())
	var wg sync.WaitGroup
	var published atomic.Int64
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			pub := marketing.NewService(e.store, e.svc, e.sales(), marketing.Options{Channels: []marketing.Channel{ch}, Now: now})
			rep, err := pub.Social.Publish(ctx)
			if err != nil {
				errs <- err
				return
			}
			published.Add(int64(rep.Published))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if h.IsBusy(err) {
			t.Fatalf("a publisher got busy: %v", err)
		}
		t.Errorf("a concurrent publisher: %v", err)
	}
	seen := map[string]int{}
	for _, c := range r.got()[before:] {
		seen[c.payload.ID]++
	}
	if published.Load() != n || len(seen) != n {
		t.Errorf("concurrent publishers published %d, the relay got %d posts, want %d", published.Load(), len(seen), n)
	}
	for id, k := range seen {
		if k != 1 || !ids[id] {
			t.Errorf("post %s reached the relay %d times", id, k)
		}
	}
	page, err := so.Posts(ctx, storage.ListQuery{Filter: storage.Eq("status", string(marketing.PostPublished))})
	must(t, "posts", err)
	if len(page.Items) != n+3 {
		t.Errorf("%d posts published, want %d", len(page.Items), n+3)
	}

	// A publisher that stalls past its claim's lease: the next Publish
	// fails the post without calling the channel again (it may have gone
	// out); what the stalled call brings back is recorded when it ends.
	stalled, err := so.Schedule(ctx, marketing.NewPost{Channel: "slow", Text: "Stalled"})
	must(t, "schedule stalled", err)
	done := make(chan *marketing.PublishReport, 1)
	go func() {
		rep, err := so.Publish(ctx)
		if err != nil {
			t.Errorf("the stalled publisher: %v", err)
		}
		done <- rep
	}()
	if id := <-slow.entered; id != stalled.ID {
		t.Fatalf("the slow channel got %s, want %s", id, stalled.ID)
	}
	clock.Add(int64(11 * time.Minute)) // past the default lease of 10 minutes
	rep, err = so.Publish(ctx)
	must(t, "publish past the lease", err)
	interrupted, _ := so.Get(ctx, stalled.ID)
	if rep.Interrupted != 1 || rep.Published != 0 || interrupted.Status != marketing.PostFailed || !interrupted.NextAt.IsZero() ||
		!strings.Contains(interrupted.Error, "stopped") {
		t.Errorf("past the lease: %+v, post %+v", rep, interrupted)
	}
	close(slow.release)
	if rep := <-done; rep == nil || rep.Published != 1 {
		t.Errorf("the stalled publisher = %+v", rep)
	}
	if got, _ := so.Get(ctx, stalled.ID); got.Status != marketing.PostPublished || got.ExternalID != "slow-"+stalled.ID || got.Attempts != 1 {
		t.Errorf("the stalled post at last = %+v", got)
	}

	// Mentions: taken in once, matched by a profile, on the timeline.
	ada := e.contact(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com",
		SocialProfiles: []contacts.SocialProfile{{Network: "twitter", Handle: "ada"}}})
	bob := e.contact(ctx, contacts.NewContact{FirstName: "Bob", Email: "bob@example.com"})
	_, err = so.Mention(ctx, marketing.NewMention{Channel: "Twitter!", URL: "gopher://x", Sentiment: "angry", ContactID: "nope"})
	wantFields(t, "a bad mention", err, "channel", "handle", "url", "sentiment", "contact_id")
	at := now().Add(-time.Hour)
	in := marketing.NewMention{Channel: "twitter", ExternalID: "tw-1", Handle: "@ada", Author: "Ada L.", Text: "Love the spring sale",
		URL: "https://twitter.example/ada/1", At: at, Sentiment: marketing.SentimentPositive}
	m, err := so.Mention(ctx, in)
	must(t, "mention", err)
	if m.ContactID != ada.ID || !m.At.Equal(storage.Truncate(at)) {
		t.Errorf("mention = %+v, want Ada's", m)
	}
	again, err := so.Mention(ctx, in)
	must(t, "mention again", err)
	if again.ID != m.ID || again.Version != m.Version {
		t.Errorf("a repeat made %+v", again)
	}
	stranger, err := so.Mention(ctx, marketing.NewMention{Channel: "twitter", URL: "https://twitter.example/who/2", Handle: "who", Text: "meh"})
	must(t, "a stranger's mention", err)
	if stranger.ContactID != "" || stranger.ExternalID != "https://twitter.example/who/2" {
		t.Errorf("a stranger's mention = %+v", stranger)
	}
	byBob, err := so.Mention(ctx, marketing.NewMention{Channel: "linkedin", ExternalID: "li-1", Handle: "bob-b", Text: "Nice", ContactID: bob.ID})
	must(t, "bob's mention", err)
	if byBob.ContactID != bob.ID {
		t.Errorf("bob's mention = %+v", byBob)
	}
	mentions, err := so.Mentions(ctx, storage.ListQuery{Filter: storage.Eq("contact_id", ada.ID)})
	must(t, "mentions", err)
	if len(mentions.Items) != 1 || mentions.Items[0].ID != m.ID {
		t.Errorf("ada's mentions = %+v", mentions.Items)
	}
	tl, err := app.Contacts.Timeline(ctx, ada.ID, storage.PageQuery{})
	must(t, "timeline", err)
	onTimeline := false
	for _, te := range tl.Items {
		if mm, ok := te.Record.(*marketing.Mention); ok && mm.ID == m.ID && te.At.Equal(m.At) {
			onTimeline = true
		}
	}
	if !onTimeline {
		t.Errorf("ada's timeline lacks the mention: %+v", tl.Items)
	}

	// The stranger becomes a contact with that profile: once synced, the
	// mention is theirs. A handle two contacts share names no one.
	who := e.contact(ctx, contacts.NewContact{FirstName: "Who", SocialProfiles: []contacts.SocialProfile{{Network: "twitter", Handle: "@who"}}})
	twin := []contacts.SocialProfile{{Network: "twitter", Handle: "twin"}}
	e.contact(ctx, contacts.NewContact{FirstName: "Twin", LastName: "A", SocialProfiles: twin})
	e.contact(ctx, contacts.NewContact{FirstName: "Twin", LastName: "B", SocialProfiles: twin})
	twinMention, err := so.Mention(ctx, marketing.NewMention{Channel: "twitter", ExternalID: "tw-twin", Handle: "twin", Text: "hi"})
	must(t, "the twins' mention", err)
	e.sync()
	_, err = app.Marketing.Sync(ctx)
	must(t, "sync", err)
	mentionNow := func(id string) *marketing.Mention {
		t.Helper()
		got, err := storage.TableOf[*marketing.Mention](e.store).Get(ctx, id)
		must(t, "mention", err)
		return got
	}
	if got := mentionNow(stranger.ID); got.ContactID != who.ID {
		t.Errorf("the stranger's mention after they became a contact: %+v, want theirs", got)
	}
	if got := mentionNow(twinMention.ID); got.ContactID != "" {
		t.Errorf("a mention of a handle two contacts share went to %s", got.ContactID)
	}

	// Erasing Ada takes her mention; the others stay.
	er, err := app.Erase(ctx, ada.ID)
	must(t, "erase", err)
	if er.Related[marketing.ObjectMention] != 1 {
		t.Errorf("erasure = %+v, want one mention", er)
	}
	_, err = storage.TableOf[*marketing.Mention](e.store).Get(ctx, m.ID)
	wantErr(t, "the erased person's mention", err, storage.ErrNotFound)
	if n := count(t, ctx, storage.TableOf[*marketing.Mention](e.store)); n != 3 {
		t.Errorf("%d mentions left, want 3", n)
	}
	// Taken in again after the erasure, it is new and names no one.
	back, err := so.Mention(ctx, in)
	must(t, "mention after the erasure", err)
	if back.ID == m.ID || back.ContactID != "" {
		t.Errorf("mention after the erasure = %+v", back)
	}
}
