package hangar_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hangar-ml/hangar"
)

// wantRegistryErr checks err against want: "" for no error, else an
// EINVALID error whose message contains want.
func wantRegistryErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: got %v, want no error", what, err)
	case want != "" && err == nil:
		t.Errorf("%s: got no error, want EINVALID %q", what, want)
	case want != "" && (hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(hangar.ErrorMessage(err), want)):
		t.Errorf("%s: got %v (code %q), want EINVALID containing %q", what, err, hangar.ErrorCode(err), want)
	}
}

func TestValidateRegisteredModelName(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"model", ""},
		{"My Model 2", ""},
		{"catalog.schema.model", ""},
		{"modèle@prod:v1", ""},
		{strings.Repeat("é", 256), ""},
		{"", "Registered model name cannot be empty."},
		{strings.Repeat("é", 257), "had length 257, which exceeded length limit of 256"},
		{"a/b", "must not contain '/'"},
		{"a\x00b", "NUL"},
		{"a\xffb", "UTF-8"},
	} {
		wantRegistryErr(t, "name "+tc.name, hangar.ValidateRegisteredModelName(tc.name), tc.want)
	}
	wantRegistryErr(t, "empty new name", hangar.ValidateNewModelName(""), "Missing value for required parameter 'new_name'.")
	wantRegistryErr(t, "new name", hangar.ValidateNewModelName("x"), "")
}

func TestValidateModelAlias(t *testing.T) {
	for _, tc := range []struct{ alias, want string }{
		{"champion", ""},
		{"Champion_2-b", ""},
		{"чемпион", ""},
		{"v", ""},
		{"v1a", ""},
		{"version1", ""},
		{"latest2", ""},
		{strings.Repeat("a", 255), ""},
		{"", "Registered model alias name cannot be empty."},
		{"a b", "Invalid alias name: 'a b'. Names may only contain alphanumerics, underscores (_), and dashes (-)."},
		{"a.b", "Invalid alias name"},
		{"a@b", "Invalid alias name"},
		{"a\n", "Invalid alias name"}, // Python's $ would let a trailing newline through
		{"a\xff", "Invalid alias name"},
		{strings.Repeat("a", 256), "Registered model alias name '" + strings.Repeat("a", 250) + "' had length 256, which exceeded length limit of 255"},
		{"latest", "'latest' alias name (case insensitive) is reserved."},
		{"LaTeSt", "'latest' alias name (case insensitive) is reserved."},
		{"v1", "Version alias name 'v1' is reserved."},
		{"V42", "Version alias name 'V42' is reserved."},
		{"v٣", "Version alias name 'v٣' is reserved."}, // Arabic-Indic digit: Python's \d
	} {
		wantRegistryErr(t, "alias "+tc.alias, hangar.ValidateModelAlias(tc.alias), tc.want)
	}
}

func TestValidateModelTags(t *testing.T) {
	for _, tc := range []struct{ key, value, want string }{
		{"team", "ml", ""},
		{"mlflow.source.name", "", ""},
		{"a/b c-d_e:f", "x", ""},
		{"ключ", "значение", ""},
		{strings.Repeat("k", 250), strings.Repeat("é", 5000), ""},
		{"", "v", "would resolve to '.'"},
		{"a$b", "v", "Invalid tag name: 'a$b'. Names may only contain alphanumerics"},
		{"../x", "v", "This name would resolve to '../x'"},
		{"a/../b", "v", "This name would resolve to 'b'"},
		{"/abs", "v", "Invalid tag name: '/abs'"},
		{"a/", "v", "would resolve to 'a'"},
		{".", "v", "would resolve to '.'"},
		{strings.Repeat("k", 251), "v", "Registered model key '" + strings.Repeat("k", 250) + "' had length 251, which exceeded length limit of 250"},
		{"k", strings.Repeat("é", 5001), "Registered model value '" + strings.Repeat("é", 250) + "' had length 5001, which exceeded length limit of 5000"},
		{"k", "a\x00", "NUL"},
	} {
		wantRegistryErr(t, "model tag "+tc.key, hangar.ValidateRegisteredModelTag(tc.key, tc.value), tc.want)
		want := strings.ReplaceAll(tc.want, "Registered model", "Model version")
		wantRegistryErr(t, "version tag "+tc.key, hangar.ValidateModelVersionTag(tc.key, tc.value), want)
	}
}

func TestParseModelVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"1", 1, false}, {"42", 42, false}, {" 7 ", 7, false}, {"+3", 3, false}, {"01", 1, false}, {"-1", -1, false},
		{"", 0, true}, {"x", 0, true}, {"1.0", 0, true}, {"1e3", 0, true}, {"99999999999999999999", 0, true},
	} {
		got, err := hangar.ParseModelVersion(tc.in)
		if tc.err {
			wantRegistryErr(t, "version "+tc.in, err, "Model version must be an integer, got '"+tc.in+"'")
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseModelVersion(%q): got %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestCanonicalStage(t *testing.T) {
	for in, want := range map[string]string{"none": "None", "STAGING": "Staging", "Production": "Production", "archived": "Archived"} {
		if got, err := hangar.CanonicalStage(in); err != nil || got != want {
			t.Errorf("CanonicalStage(%q): got %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "Deleted_Internal", "prod", " None"} {
		_, err := hangar.CanonicalStage(in)
		wantRegistryErr(t, "stage "+in, err, "Invalid Model Version stage: "+in+". Value must be one of None, Staging, Production, Archived.")
	}
	for _, tc := range []struct {
		stage   string
		archive bool
		want    string
	}{
		{"Production", true, ""}, {"staging", true, ""}, {"None", false, ""}, {"archived", false, ""},
		{"None", true, "Model version transition cannot archive existing model versions because 'None' is not an Active stage. Valid stages are ['Staging', 'Production']"},
		{"archived", true, "because 'archived' is not an Active stage"},
		{"bogus", true, "Invalid Model Version stage: bogus."},
	} {
		wantRegistryErr(t, "archive to "+tc.stage, hangar.CheckArchiveExisting(tc.stage, tc.archive), tc.want)
	}
}

func TestValidateModelVersionSource(t *testing.T) {
	const (
		local    = "To use a local path as a model version source, the run_id request parameter has to be specified"
		fileURI  = "doesn't allow using a file URI as a model version source for security reasons"
		relative = "an absolute path must be provided without relative path references present"
	)
	for _, tc := range []struct{ source, want string }{
		{"mlflow-artifacts:/1/0123456789abcdef0123456789abcdef/artifacts/model", ""},
		{"mlflow-artifacts://host:5000/1/run/artifacts/model", ""},
		{"runs:/0123456789abcdef0123456789abcdef/model", ""},
		{"models:/m-0123456789abcdef", ""},
		{"models:/other/3", ""},
		{"s3://bucket/path/to/model", ""},
		{"https://host/api/2.0/mlflow-artifacts/artifacts/1/model", ""},
		{"gs://b/a%20b/model", ""},
		{"s3://bucket/a/..b/c", ""}, // "..b" is a name, not a parent reference
		{"", "Missing value for required parameter 'source'."},
		{"/tmp/model", "Invalid model version source: '/tmp/model'. " + local},
		{"model", local},
		{"file:///tmp/model", local},
		{"file://localhost/tmp/model", local},
		{"file://127.0.0.1/tmp/model", local},
		{"file://remote-host/tmp/model", "Invalid model version source: 'file://remote-host/tmp/model'. MLflow tracking server " + fileURI},
		{"FILE://remote/x", fileURI},
		{"mlflow-artifacts://host:port/../../../../", "Invalid model version source: 'mlflow-artifacts://host:port/../../../../'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, " + relative},
		{"http://host:port/api/2.0/mlflow-artifacts/artifacts/../../../../", relative},
		{"s3:/my_bucket/models/path/../../other/path", relative},
		{"mlflow-artifacts://host:port/..%2f..%2f..%2f..%2f", relative},
		{"mlflow-artifacts://host:port/..%252f..%252f", relative},
		{"http://host:port/api/2.0/mlflow-artifacts/artifacts%00", relative},
		{"http://host/x%23/../../etc/passwd", relative}, // CVE-2024-1558: '#' hides the rest from urlparse
		{"s3://bucket/a/./b", relative},
		{"s3://bucket", relative}, // no path: MLflow's resolve() never gives "" back
		{"http://host:5000/", relative},
		{"models:name/1", relative}, // a relative path
		{"s3://bucket/a\\..\\b", relative},
		{"s3://b/" + strings.Repeat("x", 494), "'source' exceeds the maximum length of 500 characters"},
	} {
		wantRegistryErr(t, "source "+tc.source, hangar.ValidateModelVersionSource(tc.source), tc.want)
	}
}

func TestParseModelURI(t *testing.T) {
	for _, tc := range []struct {
		uri  string
		want hangar.ModelURI
	}{
		{"models:/m/3", hangar.ModelURI{Name: "m", Version: "3"}},
		{"models:/My Model/007", hangar.ModelURI{Name: "My Model", Version: "007"}},
		{"models:/m/latest", hangar.ModelURI{Name: "m", Latest: true}},
		{"models:/m/LATEST", hangar.ModelURI{Name: "m", Latest: true}},
		{"models:/m/Production", hangar.ModelURI{Name: "m", Stage: "Production"}},
		{"models:/m/staging", hangar.ModelURI{Name: "m", Stage: "staging"}},
		{"models:/m@champion", hangar.ModelURI{Name: "m", Alias: "champion"}},
		{"models:/a@b@c", hangar.ModelURI{Name: "a@b", Alias: "c"}},
		{"models:/m/3?x=1", hangar.ModelURI{Name: "m", Version: "3"}},
		{"MODELS:/m/1", hangar.ModelURI{Name: "m", Version: "1"}},
		{"models:/m-0123abc", hangar.ModelURI{ModelID: "m-0123abc"}},
		{"models:///m/2", hangar.ModelURI{}}, // refused: a network location (empty)
	} {
		got, err := hangar.ParseModelURI(tc.uri)
		if tc.want == (hangar.ModelURI{}) {
			wantRegistryErr(t, "uri "+tc.uri, err, "Not a proper models:/ URI: "+tc.uri+".")
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseModelURI(%q): got %+v, %v; want %+v", tc.uri, got, err, tc.want)
		}
	}
	for _, uri := range []string{"", "models:", "models:/", "models:m/1", "runs:/m/1", "models://m/1", "models:/m/1/2",
		"models:/m/", "models:/ /1", "models:/m/ ", "models:/m@", "models:/m@ ", "models:/@a", "models:/m/1\x00"} {
		_, err := hangar.ParseModelURI(uri)
		wantRegistryErr(t, "uri "+uri, err, "Not a proper models:/ URI")
	}
}

// FuzzParseModelURI: never panics, refuses only with EINVALID, sets exactly
// one kind, and what it accepts prints back to a URI that parses the same.
func FuzzParseModelURI(f *testing.F) {
	for _, s := range []string{"models:/m/3", "models:/m@champion", "models:/m/latest", "models:/m/Production", "models:/m-1", "models://x/1", "models:/a@b@c?x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		u, err := hangar.ParseModelURI(uri)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("ParseModelURI(%q): code %q, want EINVALID", uri, hangar.ErrorCode(err))
			}
			return
		}
		kinds := 0
		for _, set := range []bool{u.Version != "", u.Alias != "", u.Stage != "", u.Latest, u.ModelID != ""} {
			if set {
				kinds++
			}
		}
		if kinds != 1 || (u.ModelID == "" && u.Name == "") {
			t.Fatalf("ParseModelURI(%q) = %+v: want a name and exactly one of version, alias, stage, latest, model id", uri, u)
		}
		if u.Stage != "" && strings.EqualFold(u.Stage, "latest") {
			t.Fatalf("ParseModelURI(%q) = %+v: latest is not a stage", uri, u)
		}
		again, err := hangar.ParseModelURI(u.String())
		if u.Latest {
			u.Stage = ""
		}
		if err != nil || again != u {
			t.Fatalf("ParseModelURI(%q) = %+v prints as %q, which parses as %+v, %v", uri, u, u.String(), again, err)
		}
	})
}

// FuzzValidateModelVersionSource: never panics, refuses only with
// EINVALID, and an accepted source is valid text with no ".." segment and
// no NUL however often it is percent-decoded.
func FuzzValidateModelVersionSource(f *testing.F) {
	for _, s := range []string{"mlflow-artifacts:/1/r/artifacts/model", "s3://b/..%2fx", "http://h/a%23/../b", "file:///x", "/x", "s3://b/a+b%2Bc", "%2e%2e/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, source string) {
		err := hangar.ValidateModelVersionSource(source)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("ValidateModelVersionSource(%q): code %q, want EINVALID", source, hangar.ErrorCode(err))
			}
			return
		}
		if !utf8.ValidString(source) {
			t.Fatalf("accepted invalid UTF-8 %q", source)
		}
		s := source
		for range 8 {
			s = strings.ReplaceAll(s, "+", " ")
			for _, seg := range strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == '\\' }) {
				if seg == ".." {
					t.Fatalf("accepted %q, which decodes to %q with a '..' segment", source, s)
				}
			}
			if strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("accepted %q, which decodes to %q with a NUL", source, s)
			}
			s = percentDecode(s)
		}
	})
}

// percentDecode decodes %XX sequences, leaving malformed ones alone.
func percentDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && strings.ContainsRune("0123456789abcdefABCDEF", rune(s[i+1])) && strings.ContainsRune("0123456789abcdefABCDEF", rune(s[i+2])) {
			var v byte
			for _, c := range []byte{s[i+1], s[i+2]} {
				v <<= 4
				switch {
				case c <= '9':
					v |= c - '0'
				case c <= 'F':
					v |= c - 'A' + 10
				default:
					v |= c - 'a' + 10
				}
			}
			b.WriteByte(v)
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// FuzzValidateModelAlias: never panics, refuses only with EINVALID, and an
// accepted alias is non-empty text that no models:/ URI misreads.
func FuzzValidateModelAlias(f *testing.F) {
	for _, s := range []string{"champion", "latest", "v1", "a-b_c", "чемпион", "a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, alias string) {
		err := hangar.ValidateModelAlias(alias)
		if err != nil {
			if hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("ValidateModelAlias(%q): code %q", alias, hangar.ErrorCode(err))
			}
			return
		}
		u, perr := hangar.ParseModelURI("models:/m@" + alias)
		if perr != nil || u.Alias != alias || u.Name != "m" {
			t.Fatalf("accepted alias %q: models:/m@%s parses as %+v, %v", alias, alias, u, perr)
		}
	})
}
