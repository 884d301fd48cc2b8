package docgen

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The repository must stand alone: nothing in it may cite files that only
// existed next to it while it was written. The needles are built from pieces
// so that this file does not trip its own test.
var outsideNeedles = []string{
	"cloudapi" + ".md",
	"catalog" + ".md",
	"conversations" + ".md",
	"mcp-clients" + ".md",
	"style" + ".md",
	".." + "/shared",
	"/" + "work/",
}

// TestNoReferenceOutsideRepository fails for every line of a tracked or
// untracked (not ignored) file that names a reference file or a directory
// outside the repository.
func TestNoReferenceOutsideRepository(t *testing.T) {
	root := repoRoot(t)
	for _, name := range repoFiles(t, root) {
		data := readRepoFile(t, root, name)
		if data == nil {
			continue
		}
		forEachLine(data, func(n int, line string) {
			for _, needle := range outsideNeedles {
				if strings.Contains(line, needle) {
					t.Errorf("%s:%d: names %q, which is outside the repository; point at docs/ instead: %s",
						name, n, needle, strings.TrimSpace(line))
				}
			}
		})
	}
}

// docRef matches a reference to a section of a repository document:
// docs/<file>.md#<anchor>.
var docRef = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_-])(docs/[\p{L}\p{N}_./-]+?\.md)#([\p{L}\p{N}_-]+)`)

// TestDocAnchorsExist checks every docs/<file>.md#<anchor> reference in the
// repository's .go and .md files: the file must exist and have a heading
// whose GitHub anchor is <anchor>.
func TestDocAnchorsExist(t *testing.T) {
	root := repoRoot(t)
	anchors := map[string]map[string]bool{} // doc path → its anchors; nil = missing
	refs := 0
	for _, name := range repoFiles(t, root) {
		if !strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, ".md") {
			continue
		}
		data := readRepoFile(t, root, name)
		if data == nil {
			continue
		}
		forEachLine(data, func(n int, line string) {
			for _, m := range docRef.FindAllStringSubmatch(line, -1) {
				doc, anchor := m[1], m[2]
				refs++
				set, seen := anchors[doc]
				if !seen {
					set = docAnchors(root, doc)
					anchors[doc] = set
				}
				switch {
				case set == nil:
					t.Errorf("%s:%d: %s#%s: %s does not exist", name, n, doc, anchor, doc)
				case !set[anchor]:
					t.Errorf("%s:%d: %s#%s: %s has no heading with that anchor (headings give: %s)",
						name, n, doc, anchor, doc, strings.Join(sortedKeys(set), " "))
				}
			}
		})
	}
	t.Logf("%d section references checked", refs)
}

func TestGitHubAnchor(t *testing.T) {
	for _, c := range []struct{ heading, want string }{
		{"Versions and base URL", "versions-and-base-url"},
		{"Choices where Meta is silent (UNCONFIRMED)", "choices-where-meta-is-silent-unconfirmed"},
		{"WHATSAPP_SEND_INTERACTIVE_LIST", "whatsapp_send_interactive_list"},
		{"The `hub.challenge` echo", "the-hubchallenge-echo"},
		{"See [the catalog](#the-catalog) now", "see-the-catalog-now"},
		{"Rate & throughput  limits", "rate--throughput--limits"},
		{"Retries: 4^X seconds", "retries-4x-seconds"},
		{"Über straße", "über-straße"},
	} {
		if got := githubAnchor(c.heading); got != c.want {
			t.Errorf("githubAnchor(%q) = %q, want %q", c.heading, got, c.want)
		}
	}
	doc := "# Title\n## Errors\n```\n## not a heading\n```\n## Errors\nSetext\n------\n### Closed ###\n"
	got := sortedKeys(anchorsOf([]byte(doc)))
	if want := []string{"closed", "errors", "errors-1", "setext", "title"}; !slices.Equal(got, want) {
		t.Errorf("anchorsOf = %v, want %v", got, want)
	}
}

// repoRoot walks up from the package directory to the directory of go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// repoFiles lists the tracked files and the untracked files git does not
// ignore, relative to root, without node_modules and package-lock.json.
func repoFiles(t *testing.T, root string) []string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not available:", err)
	}
	var files []string
	for _, args := range [][]string{
		{"ls-files", "-z"},
		{"ls-files", "-z", "--others", "--exclude-standard"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		for _, name := range strings.Split(string(out), "\x00") {
			if name == "" || filepath.Base(name) == "package-lock.json" ||
				slices.Contains(strings.Split(name, "/"), "node_modules") {
				continue
			}
			files = append(files, name)
		}
	}
	slices.Sort(files)
	return slices.Compact(files)
}

// readRepoFile reads a listed file. It returns nil for files that are gone
// from the work tree (deleted, not yet staged), directories (submodules) and
// binary files (a NUL byte in the first 8000 bytes, git's own test).
func readRepoFile(t *testing.T, root, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if fi, serr := os.Stat(filepath.Join(root, filepath.FromSlash(name))); serr == nil && fi.IsDir() {
			return nil
		}
		t.Errorf("%s: %v", name, err)
		return nil
	}
	if bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0 {
		return nil
	}
	return data
}

// forEachLine calls f with each line and its 1-based number.
func forEachLine(data []byte, f func(n int, line string)) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	for n := 1; sc.Scan(); n++ {
		f(n, sc.Text())
	}
}

// docAnchors returns the anchors of the document at root/doc, or nil when it
// does not exist.
func docAnchors(root, doc string) map[string]bool {
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(doc)))
	if err != nil {
		return nil
	}
	return anchorsOf(data)
}

var (
	atxHeading   = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$`)
	setextLine   = regexp.MustCompile(`^ {0,3}(?:=+|-+)[ \t]*$`)
	fence        = regexp.MustCompile("^ {0,3}(```|~~~)")
	htmlAnchor   = regexp.MustCompile(`<a\s+(?:name|id)="([^"]+)"`)
	mdLink       = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	listOrQuote  = regexp.MustCompile(`^ {0,3}(?:[-*+>]|\d+[.)])(?:\s|$)`)
	tableOrBlank = regexp.MustCompile(`^\s*(?:\|.*)?$`)
)

// anchorsOf lists the anchors GitHub generates for a Markdown document's
// headings (ATX and setext, outside fenced code; duplicates get -1, -2, …)
// plus explicit <a name="…"> / <a id="…"> anchors.
func anchorsOf(doc []byte) map[string]bool {
	set := map[string]bool{}
	count := map[string]int{}
	add := func(heading string) {
		a := githubAnchor(heading)
		if n := count[a]; n > 0 {
			count[a] = n + 1
			a += "-" + strconv.Itoa(n)
		} else {
			count[a] = 1
		}
		set[a] = true
	}
	inFence, fenceMark := false, ""
	prev := "" // the previous line when it could be a setext heading's text
	forEachLine(doc, func(_ int, line string) {
		if m := fence.FindStringSubmatch(line); m != nil {
			switch {
			case !inFence:
				inFence, fenceMark = true, m[1]
			case m[1] == fenceMark:
				inFence = false
			}
			prev = ""
			return
		}
		if inFence {
			return
		}
		for _, m := range htmlAnchor.FindAllStringSubmatch(line, -1) {
			set[m[1]] = true
		}
		if m := atxHeading.FindStringSubmatch(line); m != nil {
			add(m[2])
			prev = ""
			return
		}
		if setextLine.MatchString(line) && prev != "" {
			add(prev)
			prev = ""
			return
		}
		if tableOrBlank.MatchString(line) || listOrQuote.MatchString(line) || strings.HasPrefix(line, "    ") {
			prev = ""
			return
		}
		prev = line
	})
	return set
}

// githubAnchor is GitHub's heading slug: the heading's text (links reduced to
// their text) in lower case, with everything that is not a letter, digit,
// space, '-' or '_' removed and each space turned into '-'.
func githubAnchor(heading string) string {
	text := mdLink.ReplaceAllString(strings.TrimSpace(heading), "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
