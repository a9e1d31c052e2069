package service

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// ArticleVote is one voter's answer to "was this article helpful?". A
// voter has one vote per article; voting again replaces it. The article's
// counts (Article.HelpfulVotes, UnhelpfulVotes) follow every write of a
// vote, erasure's included. A contact's votes are that person's data.
type ArticleVote struct {
	storage.Meta
	ArticleID string `bun:"article_id,notnull" json:"article_id"`
	// Voter is the voter as one key ("contact:<id>", "member:<id>",
	// "visitor:<key>"), unique per article.
	Voter   string `bun:"voter,notnull" json:"voter"`
	Helpful bool   `bun:"helpful,notnull" json:"helpful"`
	// The voter: exactly one of a contact, a member, or a visitor's key.
	ContactID  string `bun:"contact_id,notnull" json:"contact_id,omitempty"`
	MemberID   string `bun:"member_id,notnull" json:"member_id,omitempty"`
	VisitorKey string `bun:"visitor_key,notnull" json:"visitor_key,omitempty"`
}

// RecordType returns "article_vote".
func (*ArticleVote) RecordType() string { return ObjectArticleVote }

// Voter is who votes on an article: exactly one of a contact (a customer
// signed in to the help center), a member of the desk, or a visitor,
// named by an opaque key the host keeps (a cookie's value, a hash of a
// session).
type Voter struct {
	ContactID  string
	MemberID   string
	VisitorKey string
}

// key returns the voter's key, or adds to v what is wrong with it.
func (vt *Voter) key(v *storage.ValidationError) string {
	vt.ContactID, vt.MemberID, vt.VisitorKey = strings.TrimSpace(vt.ContactID), strings.TrimSpace(vt.MemberID), strings.TrimSpace(vt.VisitorKey)
	n := 0
	for _, f := range []struct{ field, value string }{{"contact_id", vt.ContactID}, {"member_id", vt.MemberID}, {"visitor_key", vt.VisitorKey}} {
		if f.value != "" {
			n++
		}
		if len(f.value) > MaxTextLen {
			v.Add("voter."+f.field, "is longer than %d characters", MaxTextLen)
		}
	}
	switch {
	case n != 1:
		v.Add("voter", "names %d voters, not one (a contact, a member or a visitor)", n)
		return ""
	case vt.ContactID != "":
		return contactVoter + vt.ContactID
	case vt.MemberID != "":
		return "member:" + vt.MemberID
	}
	return "visitor:" + vt.VisitorKey
}

// contactVoter begins the voter key of a contact.
const contactVoter = "contact:"

// Vote records voter's vote on an article, helpful or not, and returns the
// article with its counts. A voter's vote again replaces its earlier one
// (the same vote again changes nothing); concurrent votes of one voter
// leave one. A member votes on an article it may read; a contact or a
// visitor only on a public article (else ErrNotFound), from a help center
// whose context may name no principal: the vote is written as the system.
func (as *Articles) Vote(ctx context.Context, articleID string, voter Voter, helpful bool) (*Article, error) {
	var out *Article
	err := as.vote(ctx, articleID, voter, func(sys context.Context, prev *ArticleVote, key string) error {
		switch {
		case prev == nil:
			return as.s.t.votes.Insert(sys, &ArticleVote{ArticleID: articleID, Voter: key, Helpful: helpful,
				ContactID: voter.ContactID, MemberID: voter.MemberID, VisitorKey: voter.VisitorKey})
		case prev.Helpful != helpful:
			next := *prev
			next.Helpful = helpful
			return as.s.t.votes.Update(sys, prev, &next)
		}
		return nil
	}, &out)
	return out, err
}

// Unvote removes voter's vote on an article, if any, and returns the
// article with its counts.
func (as *Articles) Unvote(ctx context.Context, articleID string, voter Voter) (*Article, error) {
	var out *Article
	err := as.vote(ctx, articleID, voter, func(sys context.Context, prev *ArticleVote, _ string) error {
		if prev == nil {
			return nil
		}
		return as.s.t.votes.Delete(sys, prev)
	}, &out)
	return out, err
}

// vote runs write, in one transaction under a lock on the article and the
// voter, with the voter's current vote (nil for none), then reads the
// article into *out.
func (as *Articles) vote(ctx context.Context, articleID string, voter Voter, write func(sys context.Context, prev *ArticleVote, key string) error, out **Article) error {
	var v storage.ValidationError
	key := voter.key(&v)
	if err := v.Err(); err != nil {
		return err
	}
	return as.s.store.RunInTx(ctx, func(ctx context.Context) error {
		sys := storage.AsSystem(ctx)
		if err := as.votable(ctx, articleID, voter); err != nil {
			return err
		}
		if err := storage.Lock(sys, as.s.store, "article_vote:"+articleID+":"+key); err != nil {
			return err
		}
		page, err := as.s.t.votes.List(sys, storage.ListQuery{Filter: storage.And{storage.Eq("article_id", articleID), storage.Eq("voter", key)},
			PageQuery: storage.PageQuery{Limit: 1}})
		if err != nil {
			return err
		}
		var prev *ArticleVote
		if len(page.Items) > 0 {
			prev = page.Items[0]
		}
		if err := write(sys, prev, key); err != nil {
			return err
		}
		*out, err = as.s.t.articles.Get(sys, articleID)
		return err
	})
}

// votable checks that voter may vote on the article: a member on one the
// context's principal may read, whose member must exist; a contact (who
// must exist) or a visitor on a public one.
func (as *Articles) votable(ctx context.Context, articleID string, voter Voter) error {
	var v storage.ValidationError
	if voter.MemberID != "" {
		if _, err := as.s.t.articles.Get(ctx, articleID); err != nil {
			return err
		}
		if err := storage.CheckRef(ctx, &v, "voter.member_id", as.s.store, storage.Ref{Type: access.ObjectMember, ID: voter.MemberID}); err != nil {
			return err
		}
		return v.Err()
	}
	sys := storage.AsSystem(ctx)
	a, err := as.s.t.articles.Get(sys, articleID)
	if err != nil {
		return err
	}
	if a.Status != ArticlePublic {
		return fmt.Errorf("%w: article %s is not public", storage.ErrNotFound, articleID)
	}
	if voter.ContactID != "" {
		if err := storage.CheckRef(sys, &v, "voter.contact_id", as.s.store, storage.Ref{Type: contacts.ObjectContact, ID: voter.ContactID}); err != nil {
			return err
		}
	}
	return v.Err()
}

// countVote keeps the article's counts of votes: the AfterWrite hook of
// votes, so that every write of one (a vote, a change of mind, an erasure)
// moves them in its transaction, by one addition to the stored values.
func countVote(ctx context.Context, s storage.HookStore, prev, next storage.Record) error {
	deltas := map[string]map[string]int64{} // article → field → delta
	for _, r := range []struct {
		rec  storage.Record
		sign int64
	}{{prev, -1}, {next, 1}} {
		v, ok := r.rec.(*ArticleVote)
		if !ok || v == nil {
			continue
		}
		field := "unhelpful_votes"
		if v.Helpful {
			field = "helpful_votes"
		}
		if deltas[v.ArticleID] == nil {
			deltas[v.ArticleID] = map[string]int64{}
		}
		deltas[v.ArticleID][field] += r.sign
	}
	for _, id := range slices.Sorted(maps.Keys(deltas)) { // one order, for Postgres's row locks
		d := deltas[id]
		for f, n := range d {
			if n == 0 {
				delete(d, f)
			}
		}
		if err := s.Add(ctx, ObjectArticle, id, d); err != nil {
			return err
		}
	}
	return nil
}
