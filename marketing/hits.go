package marketing

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/crmkit/crm/storage"
)

// Tracking hits arrive many at a time, each a small write; on SQLite
// every write transaction takes the one writer. So hits are group
// committed: a request's hit joins the pending ones, and one request (the
// leader) writes all that are pending in one transaction per workspace,
// while the others wait for it. Each request returns once its own hit is
// stored (or failed): nothing is lost to a crash that the caller was not
// told of, and there is no goroutine of the library's own to stop.

// pendingHit is one hit waiting to be written.
type pendingHit struct {
	ws, msgID, url string
	kind           HitKind
	info           HitInfo
	done           chan error // the outcome, or errLead
}

// errLead tells a waiting request that it is the leader now.
var errLead = errors.New("marketing: lead the next batch of hits")

// maxRounds is how many batches a leader writes before it hands the lead
// to a waiting request, so that no request serves others for long.
const maxRounds = 4

// hitBatcher gathers hits and writes them in batches.
type hitBatcher struct {
	s       *Service
	mu      sync.Mutex
	pending []*pendingHit
	leading bool
}

// record writes p with the hits pending beside it and returns p's outcome.
func (b *hitBatcher) record(ctx context.Context, p *pendingHit) error {
	p.done = make(chan error, 1)
	b.mu.Lock()
	b.pending = append(b.pending, p)
	if b.leading {
		b.mu.Unlock()
		// A waiting request does not give up when ctx ends: the lead may
		// be handed to it. The leader's writes take no longer than a
		// transaction.
		if err := <-p.done; !errors.Is(err, errLead) {
			return err
		}
	} else {
		b.leading = true
		b.mu.Unlock()
	}
	// Lead: write what is pending, a few rounds, then hand over.
	wctx := context.WithoutCancel(ctx)
	for round := 0; ; round++ {
		b.mu.Lock()
		batch := b.pending
		b.pending = nil
		if len(batch) == 0 {
			b.leading = false
			b.mu.Unlock()
			break
		}
		if round == maxRounds {
			// Hand the lead, and what is pending, to the first waiting
			// request.
			b.pending = batch
			b.mu.Unlock()
			batch[0].done <- errLead
			break
		}
		b.mu.Unlock()
		b.write(wctx, batch)
	}
	return <-p.done
}

// write stores a batch of hits, a transaction per workspace, and tells
// each its outcome.
func (b *hitBatcher) write(ctx context.Context, batch []*pendingHit) {
	byWS := map[string][]*pendingHit{}
	var order []string
	for _, p := range batch {
		if byWS[p.ws] == nil {
			order = append(order, p.ws)
		}
		byWS[p.ws] = append(byWS[p.ws], p)
	}
	for _, ws := range order {
		ps := byWS[ws]
		var outcome map[*pendingHit]error
		var err error
		for attempt := 0; attempt < 3; attempt++ {
			outcome, err = b.writeWS(in(ctx, ws), ps)
			if !errors.Is(err, storage.ErrStale) {
				break
			}
		}
		for _, p := range ps {
			if err != nil {
				p.done <- err
			} else {
				p.done <- outcome[p]
			}
		}
	}
}

// writeWS stores the hits of one workspace in one transaction: the hits,
// and the first open or click of each message.
func (b *hitBatcher) writeWS(ctx context.Context, ps []*pendingHit) (map[*pendingHit]error, error) {
	s := b.s
	outcome := map[*pendingHit]error{}
	err := s.store.RunInTx(ctx, func(ctx context.Context) error {
		ids := make([]string, 0, len(ps))
		for _, p := range ps {
			ids = append(ids, p.msgID)
		}
		msgs := map[string]*Message{}
		err := storage.Each(ctx, s.t.messages, storage.ListQuery{Filter: storage.In("id", ids...), PageQuery: storage.PageQuery{Limit: storage.MaxLimit}},
			func(m *Message) error {
				msgs[m.ID] = m
				return nil
			})
		if err != nil {
			return err
		}
		var hits []*Hit
		marked := map[string]*Message{} // the message as it will be stored
		events := map[string]string{}
		for _, p := range ps {
			m := msgs[p.msgID]
			if m == nil {
				outcome[p] = fmt.Errorf("%w: message %s", storage.ErrNotFound, p.msgID)
				continue
			}
			cur := m
			if mk := marked[m.ID]; mk != nil {
				cur = mk
			}
			h, next, event := s.Tracking.hit(ctx, cur, p.kind, p.url, p.info)
			hits = append(hits, h)
			if next != nil {
				marked[m.ID] = next
				if events[m.ID] != EventClicked {
					events[m.ID] = event
				}
			}
		}
		if err := storage.InsertMany(ctx, s.store, s.t.hits, hits); err != nil {
			return err
		}
		for _, event := range []string{EventOpened, EventClicked} {
			var prev, next []*Message
			for id, n := range marked {
				if events[id] == event {
					prev, next = append(prev, msgs[id]), append(next, n)
				}
			}
			if len(prev) > 0 {
				if err := storage.UpdateMany(ctx, s.store, s.t.messages, prev, next, storage.WithEventType(event)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return outcome, err
}
