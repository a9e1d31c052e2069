package marketing

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
)

// Attribution is what a campaign brought: its leads and the deals of the
// people it touched, by the first-touch and the last-touch model.
type Attribution struct {
	CampaignID string
	// Cost is the campaign's actual cost.
	Cost storage.Money
	// Leads counts the leads credited to the campaign (captured by its
	// forms, or with it as their campaign); CostPerLead is Cost over them,
	// rounded down (zero without leads).
	Leads       int64
	CostPerLead storage.Money
	// Touched counts the contacts the campaign reached and who responded:
	// a person opened or clicked its mail, posted one of its forms, or
	// responded as a member.
	Touched int
	// FirstTouch credits each deal to the campaign that touched its
	// contact first before the deal was made; LastTouch to the one that
	// touched it last.
	FirstTouch, LastTouch Credit
}

// Credit is the deals one attribution model gives a campaign.
type Credit struct {
	// Deals counts them; Won counts the won ones.
	Deals, Won int
	// Revenue is the amount of the won deals, per currency.
	Revenue map[string]int64
	// ROI is (revenue − cost) / cost in the cost's currency; 0 without a
	// cost.
	ROI float64
}

// touch is one response of a contact to a campaign.
type touch struct {
	campaign string
	at       time.Time
}

// Attribution returns what a campaign brought (see Attribution), reading
// the touches of the contacts it reached across all campaigns.
func (cs *Campaigns) Attribution(ctx context.Context, campaignID string) (*Attribution, error) {
	camp, err := cs.s.t.campaigns.Get(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	out := &Attribution{CampaignID: camp.ID, Cost: camp.ActualCost}
	leads := storage.TableOf[*sales.Lead](cs.s.store)
	if out.Leads, err = leads.Count(ctx, storage.Eq("campaign", camp.ID)); err != nil {
		return nil, err
	}
	if out.Leads > 0 && camp.ActualCost.Amount > 0 {
		out.CostPerLead = storage.Money{Amount: camp.ActualCost.Amount / out.Leads, Currency: camp.ActualCost.Currency}
	}
	forms := map[string]string{} // form → campaign
	err = storage.Each(ctx, cs.s.t.forms, storage.ListQuery{PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}, func(f *Form) error {
		if f.CampaignID != "" {
			forms[f.ID] = f.CampaignID
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	reached, err := cs.touches(ctx, camp.ID, nil, forms)
	if err != nil {
		return nil, err
	}
	ids := slices.Sorted(maps.Keys(reached))
	out.Touched = len(ids)
	out.FirstTouch.Revenue, out.LastTouch.Revenue = map[string]int64{}, map[string]int64{}
	opps := storage.TableOf[*sales.Opportunity](cs.s.store)
	for chunk := range slices.Chunk(ids, batchSize) {
		all, err := cs.touches(ctx, "", chunk, forms)
		if err != nil {
			return nil, err
		}
		err = storage.Each(ctx, opps, storage.ListQuery{Filter: storage.In("contact_id", chunk...), PageQuery: storage.PageQuery{Limit: storage.MaxLimit}},
			func(o *sales.Opportunity) error {
				var first, last *touch
				for i, t := range all[o.ContactID] {
					if t.at.After(o.CreatedAt) {
						continue
					}
					if first == nil || t.at.Before(first.at) {
						first = &all[o.ContactID][i]
					}
					if last == nil || !t.at.Before(last.at) {
						last = &all[o.ContactID][i]
					}
				}
				won := o.ForecastCategory == sales.ForecastClosed && !o.ClosedAt.IsZero()
				for _, m := range []struct {
					t *touch
					c *Credit
				}{{first, &out.FirstTouch}, {last, &out.LastTouch}} {
					if m.t == nil || m.t.campaign != camp.ID {
						continue
					}
					m.c.Deals++
					if won {
						m.c.Won++
						m.c.Revenue[o.Amount.Currency] += o.Amount.Amount
					}
				}
				return nil
			})
		if err != nil {
			return nil, err
		}
	}
	for _, c := range []*Credit{&out.FirstTouch, &out.LastTouch} {
		if cost := camp.ActualCost; cost.Amount > 0 {
			c.ROI = float64(c.Revenue[cost.Currency]-cost.Amount) / float64(cost.Amount)
		}
	}
	return out, nil
}

// touches returns the campaign touches of contacts, by contact: of one
// campaign ("": of all), of the contacts among (nil: all).
func (cs *Campaigns) touches(ctx context.Context, campaignID string, among []string, forms map[string]string) (map[string][]touch, error) {
	out := map[string][]touch{}
	scope := func(g storage.Filter) storage.Filter {
		and := storage.And{g}
		if campaignID != "" {
			and = append(and, storage.Eq("campaign_id", campaignID))
		}
		if among != nil {
			and = append(and, storage.In("contact_id", among...))
		}
		return and
	}
	q := storage.PageQuery{Limit: storage.MaxLimit}
	err := storage.Each(ctx, cs.s.t.messages, storage.ListQuery{Filter: scope(storage.Gt("opened_at", time.Time{})), PageQuery: q}, func(m *Message) error {
		out[m.ContactID] = append(out[m.ContactID], touch{m.CampaignID, m.OpenedAt})
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = storage.Each(ctx, cs.s.t.cmembers, storage.ListQuery{Filter: scope(storage.In("status", string(MemberResponded), string(MemberConverted))),
		PageQuery: q}, func(m *CampaignMember) error {
		out[m.ContactID] = append(out[m.ContactID], touch{m.CampaignID, m.RespondedAt})
		return nil
	})
	if err != nil {
		return nil, err
	}
	var formIDs []string
	for id, c := range forms {
		if campaignID == "" || c == campaignID {
			formIDs = append(formIDs, id)
		}
	}
	if len(formIDs) == 0 {
		return out, nil
	}
	pf := storage.Filter(storage.In("form_id", formIDs...))
	if among != nil {
		pf = storage.And{pf, storage.In("contact_id", among...)}
	}
	err = storage.Each(ctx, cs.s.t.posts, storage.ListQuery{Filter: pf, PageQuery: q}, func(p *FormPost) error {
		if p.ContactID != "" {
			out[p.ContactID] = append(out[p.ContactID], touch{forms[p.FormID], p.At})
		}
		return nil
	})
	return out, err
}
