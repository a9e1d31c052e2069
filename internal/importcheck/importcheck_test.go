// Package importcheck holds the test of the direction of imports: every
// package of the module has a layer, a package imports only packages of
// its own layer or below (and never across the two sides of a layer:
// domain modules and storage adapters), and the domain side imports no
// bun, SQL driver or net/http, even indirectly. A package the rules do
// not place fails the test, so a new folder says where it belongs.
package importcheck

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/crmkit/crm"

// side tells the two kinds of packages of one layer apart.
type side string

const (
	both    side = ""        // may be imported by either side
	domain  side = "domain"  // modules: contacts, sales, workflow, …
	adapter side = "adapter" // the store and the senders: bun, drivers, the network
)

// place is where a package sits.
type place struct {
	layer int
	side  side
}

// rules place packages by path (relative to the module; a trailing /...
// covers a folder), the first match winning.
var rules = []struct {
	path  string
	place place
}{
	{"storage", place{0, both}},
	{"storage/internal/...", place{0, both}}, // the store's own plumbing (cursors, the context memo)
	{"storage/filterexpr", place{1, both}},
	{"storage/access", place{1, both}},
	{"storage/queue", place{1, both}},
	{"storage/merge", place{1, both}},
	{"workflow/send", place{1, both}},
	{"internal/linktoken", place{1, both}}, // the signed tokens of mailed links (marketing, service)
	{"storage/bunstore", place{2, adapter}},
	{"storage/sqlite", place{2, adapter}},
	{"storage/postgres", place{2, adapter}},
	{"workflow/smtp", place{2, adapter}},
	{"workflow/webhook", place{2, adapter}},
	{"contacts", place{2, domain}},
	{"sales", place{2, domain}},
	{"workflow", place{2, domain}},
	{"marketing/web", place{3, both}},    // HTTP handlers over the marketing service
	{"marketing/social", place{3, both}}, // social channels over the network (webhooks)
	{"marketing/...", place{2, domain}},
	{"service/chat", place{3, both}},      // the live chat handler over the service module
	{"service/surveyweb", place{3, both}}, // HTTP handler of the survey links
	{"service/...", place{2, domain}},
	{"reporting/...", place{2, domain}},
	{".", place{3, both}}, // package crm
	// What programs and tests use: anything below.
	{"storage/storagetest", place{4, both}},
	{"internal/...", place{4, both}},
	{"examples/...", place{4, both}},
}

// forbidden are the imports the domain side and the layers under it must
// not reach, even indirectly: the domain stays free of storage and network
// code, so that it runs on any adapter.
var forbidden = []string{"github.com/uptrace/bun", "modernc.org/sqlite", "github.com/jackc/pgx", "net/http"}

func placeOf(pkg string) (place, bool) {
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	if rel == "" {
		rel = "."
	}
	for _, r := range rules {
		if dir, ok := strings.CutSuffix(r.path, "/..."); ok {
			if rel == dir || strings.HasPrefix(rel, dir+"/") {
				return r.place, true
			}
		} else if rel == r.path {
			return r.place, true
		}
	}
	return place{}, false
}

// goList runs go list with the format over the module's packages; each
// line is a package's path and then its imports.
func goList(t *testing.T, args ...string) map[string][]string {
	t.Helper()
	tool, err := exec.LookPath("go")
	if err != nil {
		tool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(tool, append([]string{"list"}, args...)...)
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			pkgs[f[0]] = f[1:]
		}
	}
	return pkgs
}

// touchSources stats every Go file of the module, so that go test's cache
// of this test's result ends when any of them changes (it cannot see what
// the go list it runs reads).
func touchSources(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".go") || d.Name() == "go.mod") {
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestImportDirection checks every package's direct imports against the
// layers, and the forbidden packages against what the domain side and the
// layers under it reach.
func TestImportDirection(t *testing.T) {
	touchSources(t)
	direct := goList(t, "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
	if len(direct) < 10 {
		t.Fatalf("go list found %d packages", len(direct))
	}
	for pkg, imports := range direct {
		p, ok := placeOf(pkg)
		if !ok {
			t.Errorf("%s has no layer: add it to the rules of internal/importcheck", pkg)
			continue
		}
		for _, imp := range imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			q, ok := placeOf(imp)
			switch {
			case !ok:
				continue // reported as a package of its own
			case q.layer > p.layer:
				t.Errorf("%s (layer %d) imports %s, of layer %d above it", pkg, p.layer, imp, q.layer)
			case q.layer == p.layer && p.side != both && q.side != both && p.side != q.side:
				t.Errorf("%s (%s side) imports %s, of the %s side beside it", pkg, p.side, imp, q.side)
			}
		}
	}
	deps := goList(t, "-deps", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", "./...")
	for pkg, all := range deps {
		p, ok := placeOf(pkg)
		if !ok || p.side == adapter || p.layer > 2 {
			continue
		}
		for _, dep := range all {
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s reaches %s: domain packages and the layers under them import no bun, SQL driver or net/http", pkg, dep)
				}
			}
		}
	}
}

// TestRules checks the rules themselves on known paths.
func TestRules(t *testing.T) {
	type want struct {
		place place
		ok    bool
	}
	for pkg, w := range map[string]want{
		module:                        {place{3, both}, true},
		module + "/storage":           {place{0, both}, true},
		module + "/sales":             {place{2, domain}, true},
		module + "/storage/bunstore":  {place{2, adapter}, true},
		module + "/marketing/forms":   {place{2, domain}, true},
		module + "/marketing/social":  {place{3, both}, true},
		module + "/examples/objects":  {place{4, both}, true},
		module + "/internal/testdb":   {place{4, both}, true},
		module + "/storage/somewhere": {},
	} {
		got, ok := placeOf(pkg)
		if got != w.place || ok != w.ok {
			t.Errorf("placeOf(%s) = %v, %v; want %v, %v", pkg, got, ok, w.place, w.ok)
		}
	}
}
