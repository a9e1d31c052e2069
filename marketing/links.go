package marketing

import (
	"bytes"
	"html"
	"net/url"
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
	z := xhtml.NewTokenizer(strings.NewReader(doc))
	var out bytes.Buffer
	out.Grow(len(doc) + len(doc)/4)
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			if err := z.Err(); err.Error() != "EOF" {
				return "", err
			}
			return out.String(), nil
		}
		raw := z.Raw()
		if tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken {
			out.Write(raw)
			continue
		}
		raw = bytes.Clone(raw)
		t := z.Token()
		if len(t.Attr) == 0 || (t.Data != "a" && t.Data != "area") {
			out.Write(raw)
			continue
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
			continue
		}
		t.Attr = attrs
		writeTag(&out, t)
	}
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
	i := strings.LastIndex(strings.ToLower(doc), "</body")
	if i < 0 {
		return doc + img
	}
	return doc[:i] + img + doc[i:]
}
