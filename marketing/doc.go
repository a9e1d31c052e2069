// Package marketing is the CRM's marketing module: subscription lists with
// single or double opt-in and a workspace suppression list, segments
// (dynamic, kept current from the change feed, and static), campaigns with
// their members, and email campaigns sent through a send.Mailer with
// per-recipient message records, one-click unsubscribe and open and click
// tracking behind signed tokens; social posts scheduled to Channels and
// published once when due (Social), and the mentions taken in, on their
// author's timeline.
//
// The package is a module of the generic path (see Module): every record
// is a record of the store, with change events, access scopes, custom
// field checks and workflow triggers. It imports no net/http: the handlers
// that tracking links, unsubscribe links and opt-in confirmations reach
// are in package marketing/web, and the webhook channel of social posts
// is in package marketing/social.
package marketing
