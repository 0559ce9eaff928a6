package s3store

import (
	"errors"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/hangar-ml/hangar"
)

// ParseLocation splits an artifact location "s3://BUCKET[/PREFIX]" into
// its bucket and its key prefix, returned as "" or ending in "/"
// ("s3://b/hangar/prod" → "b", "hangar/prod/"). It refuses credentials in
// the location — they would end up in logs, shell histories and process
// listings; the credential chain (DefaultCredentials) supplies them — as
// well as queries, fragments, and empty, "." or ".." path elements.
// Errors (EINVALID) never quote the location: only its scheme, bucket or
// prefix once parsed, so a secret in it is never repeated.
func ParseLocation(loc string) (bucket, prefix string, err error) {
	// Any '@' before anything else: a bucket name cannot hold one, and a
	// secret key may hold '/', so the credentials do not end at the first
	// slash — "s3://AKIA:abc/def@bucket" is not a URL with a host "AKIA:abc".
	if strings.Contains(loc, "@") {
		return "", "", hangar.Errorf(hangar.EINVALID, "artifact location: credentials in an s3:// location are not accepted (a location holds no '@'); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, use the shared credentials file, or an IAM role")
	}
	if !strings.HasPrefix(loc, "s3://") {
		if scheme, _, ok := strings.Cut(loc, ":"); ok && isScheme(scheme) {
			return "", "", hangar.Errorf(hangar.EINVALID, "artifact location with scheme %q: want s3://BUCKET[/PREFIX] (lower case, two slashes)", scheme)
		}
		return "", "", hangar.Errorf(hangar.EINVALID, "artifact location: want s3://BUCKET[/PREFIX]")
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "", "", hangar.Errorf(hangar.EINVALID, "artifact location: not a URL; want s3://BUCKET[/PREFIX]")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(loc, "#") {
		return "", "", hangar.Errorf(hangar.EINVALID, "artifact location: no query or fragment allowed; the endpoint and region come from AWS_ENDPOINT_URL_S3 and AWS_REGION")
	}
	bucket = u.Host
	if err := s3utils.CheckValidBucketNameStrict(bucket); err != nil {
		return "", "", hangar.Errorf(hangar.EINVALID, "artifact location: bucket %q: %v", bucket, err)
	}
	p := strings.TrimPrefix(u.Path, "/")
	if u.RawPath != "" || strings.ContainsAny(p, "\\\x00") {
		return "", "", hangar.Errorf(hangar.EINVALID, "artifact location in bucket %q: the prefix may not hold escapes, backslashes or NUL", bucket)
	}
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return bucket, "", nil
	}
	prefix = p + "/"
	if err := checkPrefix(prefix); err != nil {
		return "", "", hangar.Errorf(hangar.EINVALID, "artifact location in bucket %q: %v", bucket, err)
	}
	return bucket, prefix, nil
}

// isScheme reports whether s has the form of a URL scheme (RFC 3986):
// a letter, then letters, digits, '+', '-' or '.'.
func isScheme(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// DefaultCredentials returns the AWS SDK's credential chain, reading the
// environment through getenv: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN when the first two are set; else the shared credentials
// and config files (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials,
// profile AWS_PROFILE or "default"); else the IAM role of the machine, the
// container or the Kubernetes service account (IRSA: AWS_ROLE_ARN and
// AWS_WEB_IDENTITY_TOKEN_FILE, which minio-go reads from the process
// environment itself).
func DefaultCredentials(getenv func(string) string) (*credentials.Credentials, error) {
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	switch {
	case id != "" && secret != "":
		return credentials.NewStaticV4(id, secret, getenv("AWS_SESSION_TOKEN")), nil
	case id != "" || secret != "":
		return nil, errors.New("set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither")
	}
	return credentials.NewChainCredentials([]credentials.Provider{
		&credentials.FileAWSCredentials{Filename: getenv("AWS_SHARED_CREDENTIALS_FILE"), Profile: getenv("AWS_PROFILE")},
		&credentials.IAM{},
	}), nil
}
