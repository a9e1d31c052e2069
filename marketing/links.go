package marketing

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"html"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"

	xhtml "golang.org/x/net/html"
)

// UTM are the UTM parameters added to the links of campaign mail.
type UTM struct{ Source, Medium, Campaign, Content, Term string }

// addUTM returns u with the parameters of tags set where tags has a value
// and u does not set the parameter already. A u that is not an absolute
// http(s) URL comes back unchanged; the rest of the query, and the
// fragment, are kept as they are.
func addUTM(u string, tags UTM) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return u
	}
	q := p.Query()
	var add []string
	for _, kv := range [][2]string{{"utm_source", tags.Source}, {"utm_medium", tags.Medium}, {"utm_campaign", tags.Campaign},
		{"utm_content", tags.Content}, {"utm_term", tags.Term}} {
		if kv[1] != "" && !q.Has(kv[0]) {
			add = append(add, kv[0]+"="+url.QueryEscape(kv[1]))
		}
	}
	if len(add) == 0 {
		return u
	}
	if p.RawQuery != "" {
		p.RawQuery += "&"
	}
	p.RawQuery += strings.Join(add, "&")
	return p.String()
}

// rewriteLinks returns doc with the href of every <a> and <area> whose URL
// is absolute http or https replaced by wrap(url) (the URL as a browser
// reads it: entities decoded). mailto:, tel:, anchors, relative links and
// links marked data-notrack are kept (the mark itself removed). Tokens it
// does not change are copied byte for byte.
func rewriteLinks(doc string, wrap func(u string) string) (string, error) {
	var out bytes.Buffer
	out.Grow(len(doc) + len(doc)/4)
	err := walkLinks(doc, func(raw []byte) { out.Write(raw) }, func(raw []byte, t xhtml.Token) bool {
		rewriteTag(&out, raw, t, wrap)
		return true
	})
	if err != nil {
		return "", err
	}
	return out.String(), nil
}

// walkLinks tokenizes doc and hands each token's text to text, but the
// start tags of <a> and <area> (linkTag) to link, with their token (raw
// is link's own); link returns false to stop the walk (errStopped).
func walkLinks(doc string, text func(raw []byte), link func(raw []byte, t xhtml.Token) bool) error {
	z := xhtml.NewTokenizer(strings.NewReader(doc))
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			if err := z.Err(); err != io.EOF {
				return err
			}
			return nil
		}
		raw := z.Raw()
		if tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken || !linkTag(raw) {
			text(raw)
			continue
		}
		raw = bytes.Clone(raw) // Token may change Raw's bytes
		if !link(raw, z.Token()) {
			return errStopped
		}
	}
}

// errStopped is walkLinks's error when its link function stopped it.
var errStopped = errors.New("marketing: link walk stopped")

// rewriteTag writes the link tag t, whose text is raw, as rewriteLinks
// rewrites it.
func rewriteTag(out *bytes.Buffer, raw []byte, t xhtml.Token, wrap func(u string) string) {
	if len(t.Attr) == 0 || (t.Data != "a" && t.Data != "area") {
		out.Write(raw)
		return
	}
	changed, notrack := false, false
	for _, a := range t.Attr {
		if a.Namespace == "" && a.Key == "data-notrack" {
			notrack = true
		}
	}
	attrs := t.Attr[:0]
	for _, a := range t.Attr {
		switch {
		case a.Namespace == "" && a.Key == "data-notrack":
			changed = true
			continue
		case a.Namespace == "" && a.Key == "href" && !notrack && trackable(a.Val):
			a.Val = wrap(strings.TrimSpace(a.Val))
			changed = true
		}
		attrs = append(attrs, a)
	}
	if !changed {
		out.Write(raw)
		return
	}
	t.Attr = attrs
	writeTag(out, t)
}

// linkPlan is an HTML template's links, rewritten once in its source
// rather than in every recipient's rendered mail (the tokenizer's pass
// over each mail was half the cost of composing it, and grows with the
// mail): the source with each trackable link's URL replaced by a
// placeholder (prefix, the link's number, "-"), and the links' URLs by
// number. Filling the placeholders of a rendered mail gives what
// rewriteLinks gives for it.
type linkPlan struct {
	src    string
	prefix string
	urls   []string
}

// planLinks returns the link plan of an HTML template's source, or nil
// when a link's rendered form is known only once rendered: a link tag
// with a template action in it (other than one marked data-notrack,
// whose mark comes off in the source), or inside an action.
func planLinks(src string) *linkPlan {
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	p := &linkPlan{prefix: "crm-link-" + hex.EncodeToString(nonce[:]) + "-"}
	var out bytes.Buffer
	open := 0 // actions begun and not ended, in the source so far
	err := walkLinks(src, func(raw []byte) {
		// A "}}" outside an action (in CSS, say) is text: the count does
		// not go below zero.
		open = max(0, open+bytes.Count(raw, []byte("{{"))-bytes.Count(raw, []byte("}}")))
		out.Write(raw)
	}, func(raw []byte, t xhtml.Token) bool {
		if open > 0 {
			return false
		}
		if bytes.Contains(raw, []byte("{{")) || bytes.Contains(raw, []byte("}}")) {
			unmarked, ok := unmark(raw, t)
			out.Write(unmarked)
			return ok
		}
		for _, a := range t.Attr {
			if strings.Contains(a.Val, "{{") || strings.Contains(a.Val, "}}") {
				// Braces written as entities: the tag written again would
				// turn them into an action of the template.
				return false
			}
		}
		rewriteTag(&out, raw, t, func(u string) string {
			p.urls = append(p.urls, u)
			return p.prefix + strconv.Itoa(len(p.urls)-1) + "-"
		})
		return true
	})
	if err != nil {
		return nil
	}
	p.src = out.String()
	return p
}

// unmark returns the text raw of a link tag t that holds template
// actions (in quoted attribute values only) with its data-notrack
// attribute cut out, leaving the rest as written. ok is false when the
// tag has no such mark (its link is rewritten once rendered), an action
// outside a quoted value (which may add or drop the mark, or attributes),
// or when cutting the mark would change any other attribute.
func unmark(raw []byte, t xhtml.Token) ([]byte, bool) {
	const mark = "data-notrack"
	at := -1 // where the mark starts
	var quote byte
	for i := 1; i < len(raw); i++ {
		switch c := raw[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '{' && i+1 < len(raw) && raw[i+1] == '{':
			return nil, false
		case at < 0 && isSpace(raw[i-1]) && i+len(mark) <= len(raw) && strings.EqualFold(string(raw[i:i+len(mark)]), mark):
			if end := i + len(mark); end == len(raw) || isSpace(raw[end]) || raw[end] == '>' || raw[end] == '/' {
				at = i // not a longer name
			}
		}
	}
	if at < 0 {
		return nil, false
	}
	cut := append(bytes.Clone(raw[:at-1]), raw[at+len(mark):]...)
	ct := xhtml.NewTokenizer(bytes.NewReader(cut))
	if tt := ct.Next(); tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken {
		return nil, false
	}
	want := slices.DeleteFunc(slices.Clone(t.Attr), func(a xhtml.Attribute) bool { return a.Namespace == "" && a.Key == mark })
	if got := ct.Token(); got.Data != t.Data || !slices.Equal(got.Attr, want) || len(want) == len(t.Attr) {
		return nil, false
	}
	return cut, true
}

// isSpace reports whether c is HTML whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// fill returns a mail rendered from the plan's source with each
// placeholder replaced by wrap of its link's URL, escaped for the
// attribute it is in.
func (p *linkPlan) fill(doc string, wrap func(u string) string) string {
	var b strings.Builder
	b.Grow(len(doc) + len(p.urls)*160)
	for {
		i := strings.Index(doc, p.prefix)
		if i < 0 {
			b.WriteString(doc)
			return b.String()
		}
		b.WriteString(doc[:i])
		rest := doc[i+len(p.prefix):]
		j := strings.IndexByte(rest, '-')
		n, err := strconv.Atoi(rest[:max(j, 0)])
		if j < 0 || err != nil || n < 0 || n >= len(p.urls) {
			b.WriteString(p.prefix) // not one of ours: kept as it is
			doc = rest
			continue
		}
		b.WriteString(html.EscapeString(wrap(p.urls[n])))
		doc = rest[j+1:]
	}
}

// linkTag reports whether raw, a start tag as written, may be an <a> or
// an <area>: its name is a or area in any case. The others are copied
// as they are, without being parsed into a token.
func linkTag(raw []byte) bool {
	name := raw[1:]
	if i := bytes.IndexAny(name, " \t\n\f\r/>"); i >= 0 {
		name = name[:i]
	}
	return bytes.EqualFold(name, []byte("a")) || bytes.EqualFold(name, []byte("area"))
}

// trackable reports whether a link's URL is absolute http(s).
func trackable(u string) bool {
	p, err := url.Parse(strings.TrimSpace(u))
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

// writeTag writes a start tag with its attributes, double-quoted and
// escaped.
func writeTag(out *bytes.Buffer, t xhtml.Token) {
	out.WriteByte('<')
	out.WriteString(t.Data)
	for _, a := range t.Attr {
		out.WriteByte(' ')
		if a.Namespace != "" {
			out.WriteString(a.Namespace)
			out.WriteByte(':')
		}
		out.WriteString(a.Key)
		out.WriteString(`="`)
		out.WriteString(html.EscapeString(a.Val))
		out.WriteByte('"')
	}
	if t.Type == xhtml.SelfClosingTagToken {
		out.WriteString(" /")
	}
	out.WriteByte('>')
}

// addPixel returns doc with an invisible 1×1 image of src just before its
// last </body>, or at its end when it has none.
func addPixel(doc, src string) string {
	img := `<img src="` + html.EscapeString(src) + `" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0;opacity:0">`
	i := lastIndexFold(doc, "</body")
	if i < 0 {
		return doc + img
	}
	return doc[:i] + img + doc[i:]
}

// lastIndexFold is strings.LastIndex of sub in s, matched without regard
// to ASCII case, without lowering a copy of s; sub's first byte must be
// one without case (such as '<').
func lastIndexFold(s, sub string) int {
	for i := len(s) - len(sub); i >= 0; i-- {
		if s[i] == sub[0] && strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
