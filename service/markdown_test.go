package service

import (
	"slices"
	"strings"
	"testing"
)

func TestSlugOf(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"Reset your password", "reset-your-password"},
		{"  Réinitialiser le mot de passe !", "reinitialiser-le-mot-de-passe"},
		{"C++ & Go: 2 tips", "c-go-2-tips"},
		{"Straße", "straße"},
		{"日本語のガイド", "日本語のガイド"},
		{"한국어 안내", "한국어-안내"},
		{"हिन्दी सहायता", "हिन्दी-सहायता"},
		{"!!!", ""},
		{strings.Repeat("word ", 40), strings.TrimSuffix(strings.Repeat("word-", 24), "-")},
	} {
		got := slugOf(c.in)
		if got != c.want {
			t.Errorf("slugOf(%q) = %q, want %q", c.in, got, c.want)
		}
		if got != "" && !validSlug(got) {
			t.Errorf("slugOf(%q) = %q, which validSlug refuses", c.in, got)
		}
	}
	for _, bad := range []string{"", "Upper", "two--dashes", "-lead", "trail-", "with space", "a_b", "e\u0301"} {
		if validSlug(bad) {
			t.Errorf("validSlug(%q) = true", bad)
		}
	}
}

func TestExcerptOf(t *testing.T) {
	t.Parallel()
	short := "A short text."
	if got := excerptOf(short); got != short {
		t.Errorf("excerptOf(short) = %q", got)
	}
	long := strings.Repeat("wörd ", 100)
	got := excerptOf(long)
	if !strings.HasSuffix(got, "wörd…") || len(got) > excerptLen+len("…") {
		t.Errorf("excerptOf(long) = %q (%d bytes)", got, len(got))
	}
	if got := excerptOf(strings.Repeat("é", 200)); !strings.HasSuffix(got, "é…") {
		t.Errorf("excerptOf(one long word) = %q", got)
	}
}

func TestPlainText(t *testing.T) {
	t.Parallel()
	htm, err := RenderMarkdown("# Title\n\nOne &amp; <b>two</b>.<p>three</p><p>four</p>\n\n- a\n- b")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := plainText(htm), "Title One & two. three four a b"; got != want {
		t.Errorf("plainText = %q, want %q", got, want)
	}
}

func TestKeywords(t *testing.T) {
	t.Parallel()
	got := keywords("Hello! My printer doesn't print, the PRINTER shows error E-42. Thanks", 16)
	if want := []string{"printer", "print", "shows", "error", "42"}; !slices.Equal(got, want) {
		t.Errorf("keywords = %v, want %v", got, want)
	}
	if got := keywords(strings.Repeat("alpha beta gamma delta ", 2)+"epsilon zeta", 3); !slices.Equal(got, []string{"alpha", "beta", "gamma"}) {
		t.Errorf("keywords capped = %v", got)
	}
}

// TestSlugOfLongMarks checks that a title whose script writes marks after
// its letters still makes a slug within maxSlugLen.
func TestSlugOfLongMarks(t *testing.T) {
	if s := slugOf("a" + strings.Repeat("कि", 40)); len(s) > maxSlugLen || !validSlug(s) {
		t.Errorf("slug of %d bytes, valid %v: %q", len(s), validSlug(s), s)
	}
}
