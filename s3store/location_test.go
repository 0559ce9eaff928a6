package s3store_test

import (
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/s3store"
)

func TestParseLocation(t *testing.T) {
	for _, tc := range []struct {
		loc            string
		bucket, prefix string
	}{
		{"s3://bucket", "bucket", ""},
		{"s3://bucket/", "bucket", ""},
		{"s3://my.bucket-1/hangar", "my.bucket-1", "hangar/"},
		{"s3://b12/hangar/prod/", "b12", "hangar/prod/"},
	} {
		bucket, prefix, err := s3store.ParseLocation(tc.loc)
		if err != nil || bucket != tc.bucket || prefix != tc.prefix {
			t.Errorf("ParseLocation(%q) = %q, %q, %v; want %q, %q", tc.loc, bucket, prefix, err, tc.bucket, tc.prefix)
		}
	}
}

func TestParseLocationRejects(t *testing.T) {
	for _, tc := range []struct {
		loc, want string
	}{
		{"s3://AKIAKEY:verysecret@bucket/p", "credentials in an s3:// location are not accepted"},
		{"s3://AKIAKEY@bucket", "credentials in an s3:// location are not accepted"},
		{"s3://AKIA:very%zzsecret@bucket", "credentials in an s3:// location are not accepted"},
		// A secret key may hold '/': the credentials do not end at the first slash.
		{"s3://AKIAX:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYsecret@bucket", "credentials in an s3:// location are not accepted"},
		{"s3://bucket/p@secret", "credentials in an s3:// location are not accepted"},
		{"S3://AKIA:secret@bucket", "credentials in an s3:// location are not accepted"},
		{"s3:/AKIA:secret@bucket", "credentials in an s3:// location are not accepted"},
		{"s3://bucket/p?secret", "no query"},
		{"s3://bucket/secret%2Fq", "escapes"},
		{"s3://bucket:secret/p", "not a URL"},
		{"s3://", "bucket"},
		{"s3:///prefix", "bucket"},
		{"s3://Bucket", "bucket"},
		{"s3://b_1", "bucket"},
		{"s3://ab", "bucket"},
		{"s3://bucket:9000/p", "bucket"},
		{"s3://bucket/a//b", "empty"},
		{"s3://bucket/a/../b", ".."},
		{"s3://bucket/./b", "."},
		{"s3://bucket/p?region=eu", "no query"},
		{"s3://bucket/p#x", "no query"},
		{"s3://bucket/p%2Fq", "escapes"},
		{"s3://bucket/a\\b", "backslash"},
		{"S3://bucket", "want s3://"},
		{"gs://bucket", `scheme "gs": want s3://`},
		{"s3:/bucket", `scheme "s3": want s3://`},
		{"s3:bucket", `scheme "s3": want s3://`},
		{"bucket", "want s3://"},
	} {
		t.Run(tc.loc, func(t *testing.T) {
			b, p, err := s3store.ParseLocation(tc.loc)
			if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseLocation(%q) = %q, %q, %v; want %s saying %q", tc.loc, b, p, err, hangar.EINVALID, tc.want)
			}
			// Errors quote only what was parsed: never the location itself.
			if strings.Contains(err.Error(), tc.loc) || strings.Contains(tc.loc, "secret") && strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q repeats the location or its secret", err)
			}
		})
	}
}

func FuzzParseLocation(f *testing.F) {
	for _, s := range []string{"s3://bucket", "s3://b-1/a/b/", "s3://k:s@b", "s3://b/a//b", "s3://b/p?x=1", "s3://b/%2e%2e/x",
		"s3://AKIAX:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY@bucket", "S3://k:s/x@b", "s3:/bucket", "gs://k@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, loc string) {
		bucket, prefix, err := s3store.ParseLocation(loc)
		if err != nil {
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Fatalf("ParseLocation(%q) error %v is not %s", loc, err, hangar.EINVALID)
			}
			if start, end := userinfo(loc); start < end && strings.Contains(err.Error(), loc[start:end]) {
				// Unless the words are the message's own ("s3://cred@b"):
				// the same location with the text masked must not say them.
				secret := loc[start:end]
				_, _, merr := s3store.ParseLocation(loc[:start] + mask(secret) + loc[end:])
				if merr == nil || !strings.Contains(merr.Error(), secret) {
					t.Fatalf("ParseLocation(%q) error %q repeats the credentials %q", loc, err, secret)
				}
			}
			return
		}
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			t.Fatalf("ParseLocation(%q) prefix %q does not end in /", loc, prefix)
		}
		for _, seg := range strings.Split(strings.TrimSuffix(prefix, "/"), "/") {
			if prefix != "" && (seg == "" || seg == "." || seg == "..") {
				t.Fatalf("ParseLocation(%q) prefix %q has element %q", loc, prefix, seg)
			}
		}
		// A parsed location is one the store accepts, and parses back the same.
		again := "s3://" + bucket + "/" + prefix
		if b2, p2, err := s3store.ParseLocation(again); err != nil || b2 != bucket || p2 != prefix {
			t.Fatalf("ParseLocation(%q) = %q, %q, %v; want %q, %q as from %q", again, b2, p2, err, bucket, prefix, loc)
		}
	})
}

// userinfo returns where the text between "://" (or the start) and the
// last '@' of a location is, the credentials of a URL-like string:
// loc[start:end], empty when there is no '@'.
func userinfo(loc string) (start, end int) {
	at := strings.LastIndex(loc, "@")
	if at < 0 {
		return 0, 0
	}
	if i := strings.Index(loc, "://"); i >= 0 && i+3 <= at {
		start = i + 3
	}
	return start, at
}

// mask returns a string as long as s of a byte s does not hold.
func mask(s string) string {
	for _, c := range "\x01\x02\x03" {
		if !strings.ContainsRune(s, c) {
			return strings.Repeat(string(c), len(s))
		}
	}
	return strings.Repeat("\x04", len(s))
}
