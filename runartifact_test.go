package hangar

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanArtifactPath(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		bad      bool
	}{
		{in: "", want: ""},
		{in: "model/MLmodel", want: "model/MLmodel"},
		{in: "1/0123456789abcdef0123456789abcdef/artifacts/docs/notes.txt", want: "1/0123456789abcdef0123456789abcdef/artifacts/docs/notes.txt"},
		{in: "a//b/./c/", want: "a/b/c"},
		{in: "./a", want: "a"},
		{in: ".", want: ""},
		{in: "a b%20c.txt", want: "a b%20c.txt"}, // kept as given: the index names what the client sent
		{in: "100%", want: "100%"},               // a literal '%', not an escape
		{in: "100%25", want: "100%25"},
		{in: "..a/b..", want: "..a/b.."},
		{in: "ab:c/d", want: "ab:c/d"},
		{in: "héllo/世界", want: "héllo/世界"},

		{in: "..", bad: true},
		{in: "a/../b", bad: true},
		{in: "a/..", bad: true},
		{in: "/etc/passwd", bad: true},
		{in: "//server/share", bad: true},
		{in: `a\b`, bad: true},
		{in: `..\x`, bad: true},
		{in: "C:/x", bad: true},
		{in: "c:x", bad: true},
		{in: `C:\x`, bad: true},
		{in: "a#b", bad: true},
		{in: "a\x00b", bad: true},
		{in: "a\nb", bad: true},
		{in: "a\x7fb", bad: true},
		{in: "\xff", bad: true},
		{in: "%2e%2e/x", bad: true},
		{in: "a/%2E%2E/b", bad: true},
		{in: "%252e%252e/x", bad: true},                        // double encoding
		{in: "%25252e%25252e", bad: true},                      // triple
		{in: "%2fetc%2fpasswd", bad: true},                     // encoded absolute
		{in: "a%5cb", bad: true},                               // encoded backslash
		{in: "a%255Cb", bad: true},                             // double-encoded backslash
		{in: "a%23b", bad: true},                               // encoded '#'
		{in: "a%00b", bad: true},                               // encoded NUL
		{in: "C%3A/x", bad: true},                              // encoded drive
		{in: "a%2F%2Fb", bad: true},                            // an encoded empty segment
		{in: "a/%2e/b", bad: true},                             // an encoded '.'
		{in: "%" + strings.Repeat("25", 10) + "41", bad: true}, // still encoded after 10 rounds
		{in: "%" + strings.Repeat("25", 9) + "41", want: "%" + strings.Repeat("25", 9) + "41"},
		{in: strings.Repeat("a", 256), bad: true},
		{in: strings.Repeat("a/", 600), bad: true},
	} {
		got, err := CleanArtifactPath(tc.in)
		switch {
		case tc.bad && err == nil:
			t.Errorf("CleanArtifactPath(%q): got %q, want an error", tc.in, got)
		case tc.bad && !IsCode(err, EINVALID):
			t.Errorf("CleanArtifactPath(%q): got error %v, want EINVALID", tc.in, err)
		case tc.bad && !strings.HasPrefix(ErrorMessage(err), "Invalid path"):
			t.Errorf("CleanArtifactPath(%q): message %q, want MLflow's \"Invalid path\" first", tc.in, ErrorMessage(err))
		case !tc.bad && err != nil:
			t.Errorf("CleanArtifactPath(%q): %v", tc.in, err)
		case !tc.bad && got != tc.want:
			t.Errorf("CleanArtifactPath(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestArtifactDir(t *testing.T) {
	for _, tc := range []struct{ in, dir, name string }{
		{"a", "", "a"},
		{"a/b", "a", "b"},
		{"a/b/c.txt", "a/b", "c.txt"},
	} {
		if dir, name := ArtifactDir(tc.in); dir != tc.dir || name != tc.name {
			t.Errorf("ArtifactDir(%q): got %q, %q; want %q, %q", tc.in, dir, name, tc.dir, tc.name)
		}
	}
}

// FuzzCleanArtifactPath: whatever comes in, a path that is accepted is
// clean (cleaning it again changes nothing), and no decoding of it, however
// deep, escapes the root or holds a separator other than '/'.
func FuzzCleanArtifactPath(f *testing.F) {
	for _, s := range []string{"", "a/b", "a//b", "../x", "%2e%2e", "%252e%252e", `a\b`, "C:x", "a%2F%2Fb", "100%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		clean, err := CleanArtifactPath(p)
		if err != nil {
			if !IsCode(err, EINVALID) {
				t.Fatalf("CleanArtifactPath(%q): error %v, want EINVALID", p, err)
			}
			return
		}
		if again, err := CleanArtifactPath(clean); err != nil || again != clean {
			t.Fatalf("CleanArtifactPath(%q) = %q, which cleans to %q, %v", p, clean, again, err)
		}
		if len(clean) > MaxArtifactPathBytes || !utf8.ValidString(clean) {
			t.Fatalf("CleanArtifactPath(%q) = %q: too long or not UTF-8", p, clean)
		}
		cur := clean
		for range 20 {
			if strings.HasPrefix(cur, "/") || strings.ContainsAny(cur, "\\#\x00") {
				t.Fatalf("CleanArtifactPath(%q) = %q, which decodes to %q", p, clean, cur)
			}
			for s := range strings.SplitSeq(cur, "/") {
				if s == ".." {
					t.Fatalf("CleanArtifactPath(%q) = %q, which decodes to %q", p, clean, cur)
				}
			}
			dec, err := url.PathUnescape(cur)
			if err != nil || dec == cur {
				break
			}
			cur = dec
		}
	})
}
