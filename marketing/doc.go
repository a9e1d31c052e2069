// Package marketing is the CRM's marketing module:
//
//   - subscription lists with single or double opt-in, each subscription
//     recorded as a GDPR consent, and a workspace suppression list that
//     every send honours (Lists, Suppressions);
//   - segments, dynamic (an expression over the contact and its account,
//     engagement with mail, other segments) and kept current from the
//     change feed by Service.Sync, or static; entering and leaving are
//     events workflow rules trigger on (Segments);
//   - campaigns with budget, actual cost, members and their responses, and
//     attribution of leads and deals by first and last touch, with cost
//     per lead and ROI (Campaigns);
//   - campaign email sent through a send.Mailer to a segment or list:
//     templates with a text part, previews, throttling, an error threshold,
//     one message record per recipient, idempotent on restart, RFC 8058
//     one-click unsubscribe, open and click tracking behind signed tokens
//     with bot hits flagged apart, UTM tags, A/B tests of subjects (Emails,
//     Tracking);
//   - RFC 3464 bounce and complaint reports feeding the suppression list
//     (Bounces);
//   - web forms that capture leads or contacts, with UTM fields, a
//     honeypot and double opt-in (Forms);
//   - lead scoring by fit and fading behaviour, with bands whose changes
//     are events (Scoring), and a predictive score trained on the
//     workspace's won and lost deals, explained by its feature weights
//     (Predictive);
//   - nurture sequences on segments and form sign-ups, built from workflow
//     rules (Nurture);
//   - social posts scheduled to Channels and published once when due, and
//     mentions taken in onto their author's timeline (Social).
//
// The package is a module of the generic path (see Module): every record
// is a record of the store, with change events, access scopes, custom
// field checks, workflow triggers, merge movers (Movers) and a personal
// data declaration, so that the person's records are in their access
// document and erased with them. It imports no net/http: the handlers
// that tracking links, unsubscribe links, opt-in confirmations, the
// preference center and web forms reach are in package marketing/web,
// and the webhook channel of social posts is in package marketing/social.
package marketing
