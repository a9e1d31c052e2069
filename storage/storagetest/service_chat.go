package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/service/bizhours"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow"
)

// chatKey is the identity key of the chat tests' host.
var chatKey = []byte("chat-test-identity-key-0123456789abcdef")

// testServiceChat checks live chat: starting a conversation (anonymous,
// for a known contact, with a verified identity that links or makes the
// contact by email, a bad signature refused), the visitor's token,
// posting (validation, a closed conversation refused), gap-free numbers
// under concurrent posts and reading after a number exactly, the away
// message outside the chat calendar's hours and not inside, assignment and
// an agent's read scope, identifying an anonymous conversation later (its
// messages take the contact), hand-off to a case with the transcript
// (idempotent, also concurrently), the change events, the watch signal,
// a contact merge moving conversations, and the personal data: in the
// contact's access document, erased with them.
func testServiceChat(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	wf := workflow.Config{}
	if h.RowLevelSecurity {
		wf.Workspaces = []string{storage.WorkspaceFrom(e.sys)}
	}
	app, err := crm.New(e.sys, e.store, crm.Config{Workflow: wf, Service: service.Options{IdentityKey: chatKey}})
	must(t, "crm.New", err)
	ctx := e.sys
	cv := app.Service.Conversations
	paris, err := time.LoadLocation("Europe/Paris")
	must(t, "zone", err)
	at := func(d, h, m int) time.Time { return time.Date(2026, time.March, d, h, m, 0, 0, paris) } // 2 March 2026 is a Monday
	cursor := e.feedAfter("", 1000).Cursor

	// The chat's hours: Monday to Friday, 9 to 17 in Paris.
	office, err := app.Service.Calendars.Create(ctx, service.NewCalendar{Name: "Chat hours", TimeZone: "Europe/Paris",
		Week: bizhours.MondayToFriday(bizhours.Interval{Start: bizhours.At(9, 0), End: bizhours.At(17, 0)})})
	must(t, "calendar", err)
	_, err = app.Service.Settings.SetChat(ctx, service.ChatSettings{CalendarID: "01a23bd8-07ed-73a7-9720-4bbd606299ac"})
	wantFields(t, "chat hours of no calendar", err, "calendar_id")
	_, err = app.Service.Settings.SetChat(ctx, service.ChatSettings{CalendarID: office.ID, AwayText: "  We are out; back at 9.  "})
	must(t, "chat settings", err)

	// Inside the hours: no away message.
	tue := storage.WithWriteTime(ctx, at(3, 10, 0))
	c1, token1, err := cv.Start(tue, service.NewConversation{Name: " Vera ", Email: "Vera@Visit.example", Message: "Hello there\nsecond line"})
	must(t, "start", err)
	if c1.Status != service.ConversationOpen || c1.Name != "Vera" || c1.Email != "vera@visit.example" || c1.ContactID != "" || c1.Verified ||
		c1.Channel != service.ChannelChat || c1.LastSeq != 1 || c1.VisitorID == "" || !c1.StartedAt.Equal(at(3, 10, 0)) {
		t.Errorf("conversation = %+v", c1)
	}
	msgs, err := cv.Messages(ctx, c1.ID, 0, 0)
	must(t, "messages", err)
	if len(msgs) != 1 || msgs[0].Seq != 1 || msgs[0].Author != service.AuthorVisitor || msgs[0].Body != "Hello there\nsecond line" {
		t.Errorf("messages inside the hours = %+v", msgs)
	}

	// The token is the visitor's proof; anything else is forbidden.
	got, err := cv.Visitor(ctx, token1)
	must(t, "visitor", err)
	if got.ID != c1.ID {
		t.Errorf("token of %s gives %s", c1.ID, got.ID)
	}
	_, secret, _ := strings.Cut(token1, ".")
	flipped := []byte(secret)
	flipped[3] ^= 1
	for what, tok := range map[string]string{"tampered": c1.ID + "." + string(flipped), "no secret": c1.ID,
		"another's id": storage.NewID() + "." + secret, "garbage": "x.y.z", "empty": ""} {
		_, err := cv.Visitor(ctx, tok)
		wantErr(t, "a "+what+" token", err, storage.ErrForbidden)
	}

	// Outside the hours (Saturday): the first message gets the away text,
	// the second nothing.
	sat := storage.WithWriteTime(ctx, at(7, 10, 0))
	c2, _, err := cv.Start(sat, service.NewConversation{Name: "Walt"})
	must(t, "start on Saturday", err)
	_, err = cv.Post(sat, c2.ID, service.NewChatMessage{Body: "Anyone?"})
	must(t, "first message", err)
	_, err = cv.Post(sat, c2.ID, service.NewChatMessage{Body: "Hello?"})
	must(t, "second message", err)
	msgs, err = cv.Messages(ctx, c2.ID, 0, 0)
	must(t, "messages", err)
	var authors []string
	for _, m := range msgs {
		authors = append(authors, fmt.Sprint(m.Seq, m.Author))
	}
	if !slices.Equal(authors, []string{"1visitor", "2system", "3visitor"}) || msgs[1].Body != "We are out; back at 9." {
		t.Errorf("messages outside the hours = %v (%+v)", authors, msgs)
	}

	// Posting: bad input names its field; a member's message needs a member.
	_, err = cv.Post(ctx, c1.ID, service.NewChatMessage{Body: "   "})
	wantFields(t, "an empty message", err, "body")
	_, err = cv.Post(ctx, c1.ID, service.NewChatMessage{Body: strings.Repeat("x", service.MaxChatLen+1)})
	wantFields(t, "a long message", err, "body")
	_, err = cv.Post(ctx, c1.ID, service.NewChatMessage{Author: service.AuthorMember, Body: "hi"})
	wantFields(t, "a member's message as the system", err, "author")
	_, err = cv.Post(ctx, c1.ID, service.NewChatMessage{Author: "robot", Body: "hi"})
	wantFields(t, "an unknown author", err, "author")
	_, err = cv.Post(ctx, storage.NewID(), service.NewChatMessage{Body: "hi"})
	wantErr(t, "a message to no conversation", err, storage.ErrNotFound)

	// An agent reads and answers what is assigned to it, and nothing else.
	repA, repB := e.as(e.repA), e.as(e.repB)
	_, err = cv.Post(repA, c1.ID, service.NewChatMessage{Body: "Not mine yet"})
	wantErr(t, "an agent's message to an unassigned conversation", err, storage.ErrNotFound)
	_, err = cv.Assign(ctx, c1.ID, "01a23bd8-07ed-73a7-9720-4bbd606299ac", "")
	wantFields(t, "assigning to no one", err, "owner_id")
	_, err = cv.Assign(ctx, c1.ID, e.repA.ID, e.teamX.ID)
	must(t, "assign", err)
	reply, err := cv.Post(storage.WithWriteTime(repA, at(3, 10, 1)), c1.ID, service.NewChatMessage{Body: "Hi Vera, how can I help?"})
	must(t, "agent's reply", err)
	if reply.Seq != 2 || reply.Author != service.AuthorMember || reply.AuthorID != e.repA.ID || reply.OwnerID != e.repA.ID {
		t.Errorf("reply = %+v", reply)
	}
	if _, err := cv.Get(repB, c1.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("another team's rep reads the conversation: %v", err)
	}
	if ms, err := cv.Messages(repB, c1.ID, 0, 0); err != nil || len(ms) != 0 {
		t.Errorf("another team's rep reads %d messages (%v)", len(ms), err)
	}
	if ms, err := cv.Messages(repA, c1.ID, 0, 0); err != nil || len(ms) != 2 || ms[0].OwnerID != e.repA.ID {
		t.Errorf("the assignee reads %+v (%v), want both messages, which followed the assignment", ms, err)
	}

	// Concurrent posts take each number once, with no gap; a reader
	// resumes after any number and gets exactly the later ones.
	watch, stop := cv.Watch(ctx, c1.ID)
	defer stop()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			post := tue
			if i%2 == 1 {
				post = storage.WithWriteTime(repA, at(3, 10, 2))
			}
			_, errs[i] = cv.Post(post, c1.ID, service.NewChatMessage{Body: fmt.Sprint("message ", i)})
		}()
	}
	// An assignment among the posts: the version the posts move makes it
	// read again, not fail.
	wg.Add(1)
	var assignErr error
	go func() {
		defer wg.Done()
		_, assignErr = cv.Assign(ctx, c1.ID, e.repA.ID, "")
	}()
	wg.Wait()
	for _, err := range errs {
		must(t, "concurrent post", err)
	}
	must(t, "an assignment among the posts", assignErr)
	_, err = cv.Assign(ctx, c1.ID, e.repA.ID, e.teamX.ID)
	must(t, "assign back", err)
	select {
	case <-watch:
	default:
		t.Error("no watch signal after posts")
	}
	all, err := cv.Messages(ctx, c1.ID, 0, 0)
	must(t, "all messages", err)
	if len(all) != 10 {
		t.Fatalf("%d messages, want 10", len(all))
	}
	for i, m := range all {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has number %d: %v", i, m.Seq, all)
		}
	}
	for _, after := range []int64{0, 3, 9, 10} {
		ms, err := cv.Messages(ctx, c1.ID, after, 0)
		must(t, "messages after", err)
		if len(ms) != 10-int(after) || (len(ms) > 0 && ms[0].Seq != after+1) {
			t.Errorf("after %d: %d messages from %v", after, len(ms), ms)
		}
	}
	if ms, err := cv.Messages(ctx, c1.ID, 4, 3); err != nil || len(ms) != 3 || ms[2].Seq != 7 {
		t.Errorf("3 after 4 = %v (%v)", ms, err)
	}

	// From here on the chat has no hours, so that what follows, written
	// at the clock's time, gets no away message whenever the test runs.
	_, err = app.Service.Settings.SetChat(ctx, service.ChatSettings{})
	must(t, "chat without hours", err)

	// A verified identity links the contact with its email, made when
	// there is none; a bad signature is refused.
	ada := e.contact(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@acme.example"})
	ident := service.Identity{UserID: "u-1", Email: " ADA@acme.example", Signature: service.SignIdentity(chatKey, "u-1", "ada@acme.example")}
	c3, _, err := cv.Start(ctx, service.NewConversation{Identity: &ident, Message: "It's Ada."})
	must(t, "start verified", err)
	if c3.ContactID != ada.ID || !c3.Verified || c3.VisitorID != "u-1" || c3.Email != "ada@acme.example" {
		t.Errorf("verified conversation = %+v, want Ada's", c3)
	}
	if ms, _ := cv.Messages(ctx, c3.ID, 0, 0); len(ms) != 1 || ms[0].ContactID != ada.ID {
		t.Errorf("verified messages = %+v", ms)
	}
	bad := ident
	bad.Signature = service.SignIdentity([]byte("another key"), "u-1", "ada@acme.example")
	_, _, err = cv.Start(ctx, service.NewConversation{Identity: &bad})
	wantErr(t, "a bad signature", err, storage.ErrForbidden)
	forged := ident
	forged.Email = "eve@acme.example"
	_, _, err = cv.Start(ctx, service.NewConversation{Identity: &forged})
	wantErr(t, "another email under Ada's signature", err, storage.ErrForbidden)
	_, _, err = cv.Start(ctx, service.NewConversation{Identity: &service.Identity{UserID: "a\nb", Email: "nope"}, Email: "bad", Message: strings.Repeat("x", service.MaxChatLen+1)})
	wantFields(t, "bad identity", err, "identity.user_id", "identity.email", "email", "message")
	newID := service.Identity{UserID: "u-2", Email: "newbie@visit.example", Name: "Nina Newbie", Signature: service.SignIdentity(chatKey, "u-2", "newbie@visit.example")}
	c4, _, err := cv.Start(ctx, service.NewConversation{Identity: &newID})
	must(t, "start as a new person", err)
	nina, err := app.Contacts.Get(ctx, c4.ContactID)
	must(t, "the contact made", err)
	if nina.Email != "newbie@visit.example" || nina.FirstName != "Nina" || nina.LastName != "Newbie" || c4.Name != "Nina Newbie" {
		t.Errorf("contact made = %+v, conversation %+v", nina, c4)
	}

	// An anonymous conversation identified later: its messages take the
	// contact.
	_, err = cv.Identify(ctx, c2.ID, bad)
	wantErr(t, "identifying with a bad signature", err, storage.ErrForbidden)
	c2, err = cv.Identify(ctx, c2.ID, ident)
	must(t, "identify", err)
	if c2.ContactID != ada.ID || !c2.Verified {
		t.Errorf("identified = %+v", c2)
	}
	if ms, _ := cv.Messages(ctx, c2.ID, 0, 0); len(ms) != 3 || ms[0].ContactID != ada.ID || ms[2].ContactID != ada.ID {
		t.Errorf("identified messages = %+v", ms)
	}
	_, err = cv.Identify(ctx, c2.ID, newID)
	wantErr(t, "identifying as someone else", err, storage.ErrConflict)

	// Hand-off: a case with the transcript, once, also when asked twice
	// at once.
	before := count(t, ctx, storage.TableOf[*service.Case](e.store))
	cases := make([]*service.Case, 2)
	for i := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cases[i], errs[i] = cv.HandOff(repA, c1.ID, service.HandOff{})
		}()
	}
	wg.Wait()
	must(t, "hand-off", errs[0])
	must(t, "concurrent hand-off", errs[1])
	k := cases[0]
	if cases[1].ID != k.ID {
		t.Errorf("two hand-offs made cases %s and %s", k.Ref(), cases[1].Ref())
	}
	if k.Channel != service.ChannelChat || k.Subject != "Hello there" || k.OwnerID != e.repA.ID || k.TeamID != e.teamX.ID ||
		!strings.Contains(k.Description, "Vera (visitor), 2026-03-03 09:00 UTC:\nHello there\nsecond line") ||
		!strings.Contains(k.Description, "Rep A (desk), 2026-03-03 09:01 UTC:\nHi Vera, how can I help?") {
		t.Errorf("handed-off case = %+v", k)
	}
	again, err := cv.HandOff(repA, c1.ID, service.HandOff{Subject: "Other"})
	must(t, "hand-off again", err)
	if again.ID != k.ID || count(t, ctx, storage.TableOf[*service.Case](e.store)) != before+1 {
		t.Errorf("a second hand-off made another case: %s", again.Ref())
	}
	if got, _ := cv.Get(ctx, c1.ID); got.CaseID != k.ID {
		t.Errorf("conversation's case = %q, want %s", got.CaseID, k.ID)
	}
	ak, err := cv.HandOff(ctx, c3.ID, service.HandOff{Subject: "Ada's chat", Priority: service.PriorityHigh})
	must(t, "hand-off Ada's", err)
	if ak.ContactID != ada.ID || ak.Subject != "Ada's chat" || ak.Priority != service.PriorityHigh {
		t.Errorf("Ada's case = %+v", ak)
	}

	// Closing: no more messages; streams of this process are signalled.
	closed, err := cv.Close(storage.WithWriteTime(ctx, at(3, 11, 0)), c1.ID)
	must(t, "close", err)
	if closed.Status != service.ConversationClosed || !closed.ClosedAt.Equal(at(3, 11, 0)) {
		t.Errorf("closed = %+v", closed)
	}
	_, err = cv.Post(ctx, c1.ID, service.NewChatMessage{Body: "Wait!"})
	wantErr(t, "a message to a closed conversation", err, storage.ErrConflict)

	var types []string
	for _, ev := range e.feedAfter(cursor, 1000).Events {
		if ev.Subject.Type == service.ObjectConversation && ev.Subject.ID == c1.ID {
			types = append(types, ev.Type)
		}
	}
	for _, want := range []string{"conversation.created", "conversation.assigned", "conversation.handed_off", "conversation.closed"} {
		if !slices.Contains(types, want) {
			t.Errorf("the conversation's events %v lack %s", types, want)
		}
	}

	// A duplicate of Ada merged into her brings its conversation along.
	dup := e.contact(ctx, contacts.NewContact{FirstName: "Ada", LastName: "Dup", Email: "ada.dup@acme.example"})
	c5, _, err := cv.Start(ctx, service.NewConversation{ContactID: dup.ID, Message: "Ada again, other address."})
	must(t, "the duplicate's conversation", err)
	_, err = app.Contacts.Merge(ctx, contacts.MergeRequest{SurvivorID: ada.ID, LoserID: dup.ID})
	must(t, "merge", err)
	if got, err := cv.Get(ctx, c5.ID); err != nil || got.ContactID != ada.ID {
		t.Errorf("the merged duplicate's conversation = %+v (%v), want Ada's", got, err)
	}
	if ms, _ := cv.Messages(ctx, c5.ID, 0, 0); len(ms) != 1 || ms[0].ContactID != ada.ID {
		t.Errorf("the merged duplicate's messages = %+v, want Ada's", ms)
	}

	// Ada's conversations and their messages are hers.
	pd, err := app.PersonalData(ctx, ada.ID)
	must(t, "personal data", err)
	for typ, want := range map[string]int{service.ObjectConversation: 3, service.ObjectChatMessage: 5} {
		if n := relatedCount(pd.Related[typ]); n != want {
			t.Errorf("access document holds %d %s records, want %d", n, typ, want)
		}
	}
	er, err := app.Erase(ctx, ada.ID)
	must(t, "erase", err)
	if er.Related[service.ObjectConversation] != 3 || er.Related[service.ObjectChatMessage] != 5 {
		t.Errorf("erasure = %+v, want 3 conversations and 5 messages", er.Related)
	}
	if _, err := cv.Get(ctx, c2.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the erased person's conversation: %v, want ErrNotFound", err)
	}
	if n := count(t, ctx, storage.TableOf[*service.Conversation](e.store)); n != 2 {
		t.Errorf("%d conversations left, want Vera's and Nina's", n)
	}
}
