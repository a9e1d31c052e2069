package storagetest

import (
	"bytes"
	"fmt"
	netsmtp "net/smtp"
	"strings"
	"testing"

	"github.com/jhillyerd/enmime/v2"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/internal/mailtest"
	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow"
	"github.com/crmkit/crm/workflow/smtp"
)

// testServiceEmail checks email to case end to end with real messages,
// each delivered through a real SMTP server on localhost before it is
// ingested: a new sender opens a case and becomes a contact (its HTML
// sanitised), a redelivery writes nothing, the desk's reply goes out with
// the threading headers and the customer's answer to it (in ISO-8859-1,
// quoted-printable) threads back by In-Reply-To; a subject token threads
// only its case's contact; inline images, attachments and a forwarded
// message are described; a message to a merged case joins the survivor;
// an out-of-office reply is marked and gets no automatic answer.
func testServiceEmail(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	srv := mailtest.Start(t, mailtest.Options{})
	mailer, err := smtp.New(smtp.Config{Host: srv.Host, Port: srv.Port, TLS: smtp.TLSNone, From: "Support <help@desk.example>"})
	must(t, "mailer", err)
	wf := workflow.Config{}
	if h.RowLevelSecurity {
		wf.Workspaces = []string{storage.WorkspaceFrom(e.sys)}
	}
	app, err := crm.New(e.sys, e.store, crm.Config{Workflow: wf, Service: service.Options{Mailer: mailer, From: "Support <help@desk.example>"}})
	must(t, "crm.New", err)
	ctx := e.sys
	cs := app.Service.Cases
	// deliver passes raw through the SMTP server and ingests what it
	// received.
	deliver := func(raw string) *service.Ingested {
		t.Helper()
		n := len(srv.Messages())
		raw = strings.ReplaceAll(strings.TrimLeft(raw, "\n"), "\n", "\r\n")
		must(t, "smtp", netsmtp.SendMail(fmt.Sprintf("%s:%d", srv.Host, srv.Port), nil, "sender@example.org", []string{"help@desk.example"}, []byte(raw)))
		got := srv.Messages()
		if len(got) != n+1 {
			t.Fatalf("the SMTP server holds %d messages, want %d", len(got), n+1)
		}
		in, err := cs.Ingest(ctx, bytes.NewReader(got[n].Data))
		must(t, "ingest", err)
		return in
	}

	first := deliver(`
From: Grace Hopper <Grace@Navy.example>
To: Support <help@desk.example>
Subject: Compiler crash
Message-ID: <g1@navy.example>
Date: Mon, 02 Mar 2026 09:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

The compiler crashes on line 42.
--b1
Content-Type: text/html; charset=utf-8

<p>The compiler <b>crashes</b> on line 42.<script>alert(1)</script><a href="javascript:evil()">x</a></p>
--b1--
`)
	c := first.Case
	if !first.Opened || !first.NewContact || c.Subject != "Compiler crash" || c.Channel != service.ChannelEmail || c.Number != 1 ||
		!strings.Contains(c.Description, "line 42") {
		t.Errorf("the first message opened %+v (ingested %+v)", c, first)
	}
	grace, err := app.Contacts.Get(ctx, c.ContactID)
	must(t, "the new contact", err)
	if grace.Email != "grace@navy.example" || grace.FirstName != "Grace" || grace.LastName != "Hopper" {
		t.Errorf("contact from the sender = %+v", grace)
	}
	if m := first.Message; m.Direction != service.Inbound || m.MessageID != "g1@navy.example" || !strings.Contains(m.HTML, "<b>crashes</b>") ||
		strings.Contains(m.HTML, "script") || strings.Contains(m.HTML, "javascript") {
		t.Errorf("first message = %+v", m)
	}
	again, err := cs.Ingest(ctx, bytes.NewReader(srv.Messages()[0].Data))
	must(t, "redelivery", err)
	if !again.Duplicate || again.Message.ID != first.Message.ID {
		t.Errorf("a redelivery = %+v, want the duplicate of the first", again)
	}

	// The desk replies; the customer answers the reply in Latin-1.
	_, err = cs.Assign(ctx, c.ID, e.repA.ID, "")
	must(t, "assign", err)
	reply, err := cs.Reply(e.as(e.repA), c.ID, service.NewReply{Text: "Which compiler version?"})
	must(t, "reply", err)
	sent := srv.Messages()[len(srv.Messages())-1]
	out, err := enmime.ReadEnvelope(bytes.NewReader(sent.Data))
	must(t, "read the reply", err)
	if out.GetHeader("Subject") != "Re: [#1] Compiler crash" || out.GetHeader("In-Reply-To") != "<g1@navy.example>" ||
		out.GetHeader("Message-ID") != "<"+reply.MessageID+">" || !strings.Contains(out.Text, "Which compiler") ||
		out.GetHeader("Auto-Submitted") != "" || sent.To[0] != "grace@navy.example" {
		t.Errorf("the reply sent: %v\n%s", out.Root.Header, out.Text)
	}
	answer := deliver(`
From: grace@navy.example
To: help@desk.example
Subject: Re: Compiler crash
Message-ID: <g2@navy.example>
In-Reply-To: <` + reply.MessageID + `>
References: <g1@navy.example> <` + reply.MessageID + `>
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Version 3, d=E9j=E0 vu.
`)
	if answer.Opened || answer.ThreadedBy != "headers" || answer.Case.ID != c.ID || !strings.Contains(answer.Message.Body, "déjà vu") {
		t.Errorf("the answer to the reply = %+v (body %q)", answer, answer.Message.Body)
	}

	// A subject token threads the case's contact, and no one else.
	byToken := deliver(`
From: Grace Hopper <grace@navy.example>
Subject: Re: [#1] one more thing
Message-ID: <g3@navy.example>

Also line 43.
`)
	if byToken.ThreadedBy != "subject" || byToken.Case.ID != c.ID {
		t.Errorf("a token from the contact = %+v", byToken)
	}
	stranger := deliver(`
From: Mallory <mallory@evil.example>
Subject: [#1] give me the thread
Message-ID: <x1@evil.example>

Hello.
`)
	if !stranger.Opened || stranger.Case.ID == c.ID || stranger.Case.Number != 2 {
		t.Errorf("a token from a stranger = %+v", stranger)
	}

	// Inline images, an attachment and a forwarded message are described.
	parts := deliver(`
From: Bob <bob@shop.example>
Subject: Fwd: invoice and a screenshot
Message-ID: <b1@shop.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="m1"

--m1
Content-Type: multipart/related; boundary="r1"

--r1
Content-Type: text/html; charset=utf-8

<p>See <img src="cid:shot@shop.example"></p>
--r1
Content-Type: image/png
Content-ID: <shot@shop.example>
Content-Disposition: inline; filename="shot.png"
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--r1--
--m1
Content-Type: application/pdf; name="invoice.pdf"
Content-Disposition: attachment; filename="invoice.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--m1
Content-Type: message/rfc822
Content-Disposition: attachment; filename="original.eml"

From: Shop <orders@shop.example>
Subject: Your invoice

Invoice attached.
--m1--
`)
	got := map[string]service.Attachment{}
	for _, a := range parts.Message.Attachments {
		got[a.ContentType] = a
	}
	if a := got["image/png"]; a.Name != "shot.png" || a.ContentID != "shot@shop.example" || a.Size != 8 {
		t.Errorf("inline image = %+v (all %+v)", a, parts.Message.Attachments)
	}
	if a := got["application/pdf"]; a.Name != "invoice.pdf" || a.Size != 9 {
		t.Errorf("attachment = %+v", a)
	}
	if _, ok := got["message/rfc822"]; !ok {
		t.Errorf("the forwarded message is not described: %+v", parts.Message.Attachments)
	}
	if !strings.Contains(parts.Message.HTML, `src="cid:shot@shop.example"`) {
		t.Errorf("the inline image's reference is lost: %s", parts.Message.HTML)
	}

	// Mail to a merged case joins the survivor.
	_, err = cs.Merge(ctx, c.ID, stranger.Case.ID)
	must(t, "merge", err)
	late := deliver(`
From: mallory@evil.example
Subject: Re: give me the thread
In-Reply-To: <x1@evil.example>
Message-ID: <x2@evil.example>

Still me.
`)
	if late.Case.ID != c.ID || late.ThreadedBy != "headers" {
		t.Errorf("mail to a merged case = %+v", late)
	}

	// An out-of-office reply is marked, and gets no automatic answer; a
	// person's message does.
	ooo := deliver(`
From: grace@navy.example
Subject: Out of office: Re: [#1] Compiler crash
Auto-Submitted: auto-replied
Message-ID: <g4@navy.example>
In-Reply-To: <` + reply.MessageID + `>

I am away.
`)
	if !ooo.Message.AutoSubmitted || ooo.Case.ID != c.ID {
		t.Errorf("the out-of-office reply = %+v", ooo.Message)
	}
	n := len(srv.Messages())
	auto, err := cs.Reply(ctx, c.ID, service.NewReply{Text: "We got your message.", Auto: true})
	if err != nil || auto != nil || len(srv.Messages()) != n {
		t.Errorf("an automatic reply to an automatic message: %+v, %v, %d sent", auto, err, len(srv.Messages())-n)
	}
	deliver(`
From: grace@navy.example
Subject: Re: [#1] Compiler crash
Message-ID: <g5@navy.example>

Back now.
`)
	auto, err = cs.Reply(ctx, c.ID, service.NewReply{Text: "We got your message.", Auto: true})
	must(t, "automatic reply", err)
	ack, err := enmime.ReadEnvelope(bytes.NewReader(srv.Messages()[len(srv.Messages())-1].Data))
	must(t, "read the acknowledgement", err)
	if auto == nil || !auto.AutoSubmitted || ack.GetHeader("Auto-Submitted") != "auto-replied" || ack.GetHeader("In-Reply-To") != "<g5@navy.example>" {
		t.Errorf("the automatic reply: %+v, headers %v", auto, ack.Root.Header)
	}

	// A long body is cut, not refused; a part with neither a name nor a
	// Content-ID is described all the same.
	big := deliver(`
From: Bob <bob@shop.example>
Subject: Logs
Message-ID: <b2@shop.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="m2"

--m2
Content-Type: text/plain; charset=utf-8

` + strings.Repeat("log line\n", 30000) + `
--m2
Content-Type: text/calendar

BEGIN:VCALENDAR
END:VCALENDAR
--m2--
`)
	if n := len(big.Message.Body); n > service.MaxBodyLen || n < service.MaxBodyLen-20 || len(big.Message.Attachments) != 1 || big.Message.Attachments[0].Name == "" {
		t.Errorf("a long message: body %d bytes, attachments %+v", len(big.Message.Body), big.Message.Attachments)
	}

	// What is not a message is refused.
	_, err = cs.Ingest(ctx, strings.NewReader("Subject: no sender\r\n\r\nHello\r\n"))
	wantFields(t, "a message without a sender", err, "from")
	thread, err := cs.Messages(ctx, c.ID, storage.PageQuery{Limit: 100})
	must(t, "thread", err)
	if len(thread.Items) != 9 {
		t.Errorf("the case's thread holds %d messages, want 9", len(thread.Items))
	}
}
