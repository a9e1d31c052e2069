package service

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"unicode"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"golang.org/x/text/unicode/norm"

	"github.com/crmkit/crm/storage"
)

// markdown renders an article's body: CommonMark with GitHub's tables,
// strikethrough and bare links, headings given IDs for anchors. Raw HTML
// in the source is passed through to the sanitiser, which keeps what is
// safe (<mark>, <sup>, a table) and drops the rest.
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
	goldmark.WithParserOptions(parser.WithAutoHeadingID()),
	goldmark.WithRendererOptions(gmhtml.WithUnsafe()),
)

// articlePolicy sanitises rendered articles: bluemonday's policy for user
// content (no scripts, styles, event handlers, forms or javascript: URLs;
// links made nofollow).
var articlePolicy = bluemonday.UGCPolicy()

// textPolicy keeps only the text of HTML.
var textPolicy = bluemonday.StrictPolicy()

// RenderMarkdown returns the sanitised HTML of a Markdown text, as the
// knowledge base stores it with each article (Article.HTML).
func RenderMarkdown(src string) (string, error) {
	var b bytes.Buffer
	if err := markdown.Convert([]byte(src), &b); err != nil {
		return "", err
	}
	return strings.TrimSpace(articlePolicy.Sanitize(b.String())), nil
}

// plainText returns the words of sanitised HTML, its tags dropped,
// entities decoded and spaces collapsed.
func plainText(htm string) string {
	// Block ends become spaces, so that "</p><p>" does not join two words
	// (goldmark ends its blocks with a newline; raw HTML may not).
	htm = blockTags.ReplaceAllString(htm, " $0")
	return strings.Join(strings.Fields(html.UnescapeString(textPolicy.Sanitize(htm))), " ")
}

// blockTags are the tags that begin or end blocks of HTML.
var blockTags = regexp.MustCompile(`(?i)</?(?:p|li|t[dhr]|div|h[1-6]|br|hr|blockquote|pre|[ou]l|table)\b`)

// excerptLen is the length of an excerpt made from an article's text, in
// bytes.
const excerptLen = 240

// excerptOf returns the first excerptLen bytes of text, cut at a word
// boundary, with "…" when it was cut.
func excerptOf(text string) string {
	if len(text) <= excerptLen {
		return text
	}
	cut := strings.TrimRightFunc(text[:strings.LastIndexByte(text[:excerptLen+1], ' ')+1], unicode.IsSpace)
	if cut == "" {
		cut = storage.CutText(text, excerptLen)
	}
	return cut + "…"
}

// maxSlugLen bounds a slug, in bytes.
const maxSlugLen = 120

// slugOf makes a slug of a title: lower case, the accents of Latin
// letters removed, runs of anything but letters and digits turned into one
// "-" ("Réinitialiser le mot de passe" → "reinitialiser-le-mot-de-passe").
func slugOf(title string) string {
	var b strings.Builder
	dash, latin := false, false
	for _, r := range norm.NFD.String(strings.ToLower(title)) {
		mark := unicode.IsMark(r)
		if !mark {
			latin = unicode.Is(unicode.Latin, r)
		}
		switch {
		case mark && latin:
		case mark: // a mark of another script is part of its letter
			if b.Len()+len(string(r)) > maxSlugLen {
				return norm.NFC.String(strings.TrimRight(b.String(), "-"))
			}
			if b.Len() > 0 && !dash {
				b.WriteRune(r)
			}
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if b.Len()+len(string(r)) > maxSlugLen {
				return norm.NFC.String(strings.TrimRight(b.String(), "-"))
			}
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return norm.NFC.String(strings.TrimRight(b.String(), "-"))
}

// validSlug reports whether s is a slug as slugOf makes them: words of
// lower-case letters (with the marks of their scripts) and digits joined
// by single dashes, in Unicode's composed form.
func validSlug(s string) bool {
	if s == "" || len(s) > maxSlugLen || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for _, r := range s {
		if r != '-' && !unicode.IsDigit(r) && !unicode.IsMark(r) && !(unicode.IsLetter(r) && !unicode.IsUpper(r)) {
			return false
		}
	}
	return norm.NFC.IsNormalString(s)
}
