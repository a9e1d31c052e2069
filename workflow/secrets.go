package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// sensitiveHeader reports whether a webhook header carries credentials,
// and so is kept as a secret: Authorization, Proxy-Authorization, Cookie,
// and any whose name holds key, token, secret, auth, signature or
// password.
func sensitiveHeader(h string) bool {
	h = strings.ToLower(h)
	switch h {
	case "authorization", "proxy-authorization", "cookie":
		return true
	}
	for _, w := range []string{"key", "token", "secret", "auth", "signature", "password"} {
		if strings.Contains(h, w) {
			return true
		}
	}
	return false
}

// isRef reports whether v names a stored secret.
func isRef(v string) bool { return strings.HasPrefix(v, storage.SecretRefPrefix) }

// seal moves the secrets of r's webhook actions (signing secrets and
// credential headers) into the store's Secrets, in ctx's transaction,
// leaving references in the rule, so that neither the rule as read nor
// its change events nor the feed hold them; and it deletes the secrets of
// prev (the rule's actions before the change) that r no longer names. Only
// the system and admins set a secret (ErrForbidden). A store without
// Secrets keeps them in the rule, as before.
func (e *Engine) seal(ctx context.Context, r *Rule, prev []Action) error {
	sec, ok := e.store.(storage.Secrets)
	if !ok {
		return nil
	}
	sys := storage.AsSystem(ctx)
	r.Actions = slices.Clone(r.Actions) // the caller's slice stays as it was
	kept := map[string]bool{}
	for i, a := range r.Actions {
		if a.Type != ActionCallWebhook {
			continue
		}
		var p WebhookParams
		if err := json.Unmarshal(a.Params, &p); err != nil {
			return fmt.Errorf("%w: actions[%d].params: %v", storage.ErrInvalid, i, err)
		}
		changed := false
		put := func(v string) (string, error) {
			if v == "" || isRef(v) {
				kept[v] = true
				return v, nil
			}
			if p := storage.PrincipalFrom(ctx); p != nil && !p.IsSystem() && p.Role != access.RoleAdmin {
				return "", fmt.Errorf("%w: only an admin sets a webhook's secret or credentials (actions[%d])", storage.ErrForbidden, i)
			}
			name := "webhook:" + storage.NewID()
			if err := sec.PutSecret(sys, name, v); err != nil {
				return "", err
			}
			changed = true
			kept[storage.SecretRefPrefix+name] = true
			return storage.SecretRefPrefix + name, nil
		}
		var err error
		if p.Secret, err = put(p.Secret); err != nil {
			return err
		}
		if len(p.Headers) > 0 {
			p.Headers = maps.Clone(p.Headers)
			for h, v := range p.Headers {
				if !sensitiveHeader(h) {
					continue
				}
				if p.Headers[h], err = put(v); err != nil {
					return err
				}
			}
		}
		if changed {
			r.Actions[i] = NewAction(ActionCallWebhook, p)
		}
	}
	for _, ref := range refsOf(prev) {
		if !kept[ref] {
			if err := sec.DeleteSecret(sys, strings.TrimPrefix(ref, storage.SecretRefPrefix)); err != nil {
				return err
			}
		}
	}
	return nil
}

// refsOf returns the secret references of the webhook actions of acts.
func refsOf(acts []Action) []string {
	var out []string
	for _, a := range acts {
		if a.Type != ActionCallWebhook {
			continue
		}
		var p WebhookParams
		if json.Unmarshal(a.Params, &p) != nil {
			continue
		}
		if isRef(p.Secret) {
			out = append(out, p.Secret)
		}
		for _, v := range p.Headers {
			if isRef(v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// unseal returns v, or the secret it names, read as the system.
func (e *Engine) unseal(ctx context.Context, v string) (string, error) {
	if !isRef(v) {
		return v, nil
	}
	sec, ok := e.store.(storage.Secrets)
	if !ok {
		return "", Permanent(fmt.Errorf("workflow: %s names a secret, and the store keeps none", v))
	}
	s, err := sec.Secret(storage.AsSystem(ctx), strings.TrimPrefix(v, storage.SecretRefPrefix))
	if err != nil {
		return "", Permanent(fmt.Errorf("workflow: the secret %s: %w", v, err))
	}
	return s, nil
}
