// Package service is the customer service module: cases with a gap-free
// number per workspace, a status from the workspace's statuses (each in one
// of the categories open, paused and resolved), a priority, a channel, an
// assignee and a team, tags and custom fields, and a thread of messages
// (public replies and internal notes); two cases merge into one.
//
// Cases and their messages are record types of the generic path (see
// Module): every change is a change event, so workflow rules trigger on
// them ("case.created", "case.status_changed", "case.resolved",
// "case.reopened", "case.merged", "case_message.created"), filters and
// reports reach their fields, and access scopes apply as to any record
// (the assignee is the case's owner). A case and its messages are the
// personal data of its contact: in the contact's access document, erased
// with them, moved to the survivor when contacts merge (Movers).
//
// Email reaches the desk through Cases.Ingest (threaded by its headers,
// then by a "[#42]" subject token from the case's contact, else a new case)
// and leaves it through Cases.Reply with the threading headers set. SLA
// policies (SLAPolicies) set each new case's first-response and resolution
// clocks in the business time of a stored Calendar (package bizhours);
// Cases.Due lists the clocks about to run out.
//
// Live chat (Conversations) keeps conversations with website visitors,
// their messages numbered without gaps per conversation, the host-signed
// identity that links a visitor's contact (SignIdentity), an away message
// outside the chat's business hours, and hand-off to a case; package
// service/chat serves it to a widget over HTTP with Server-Sent Events.
// Surveys asks customers CSAT (1–5), NPS (0–10) and CES (1–7) questions
// about a case or in a campaign wave, by signed one-use links (package
// service/surveyweb serves them; Options.Key signs them), optionally
// after every case that is solved (Options.CSATOnResolve), and scores the
// answers per agent, team and period in the store.
// The knowledge base (Articles, ArticleCategories) holds articles in a
// tree of categories, written in Markdown and stored with their sanitised
// HTML, draft, internal or public, each change of title or body a new
// version. The desk searches them (Articles.Search, by prefixes of every
// word), a case gets suggestions from its own words (Articles.Suggest, by
// any word, best first), and a help center reads and searches only the
// public ones (Articles.PublicSearch, PublicArticle, PublicArticles) and
// takes helpfulness votes (Articles.Vote), counted exactly on the article.
//
// The module offers the service KPIs to reporting (Service.KPIs): first
// response time, resolution time, open cases, CSAT, NPS and CES.
//
// The domain package holds no SQL and no HTTP.
package service
