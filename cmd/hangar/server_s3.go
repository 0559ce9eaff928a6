package main

import (
	"context"
	"fmt"

	"github.com/hangar-ml/hangar/s3store"
)

// openS3Store opens the artifact store at an s3://BUCKET[/PREFIX] location.
// Where and how to connect come from the AWS SDK's variables, read through
// getenv: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (an S3-compatible server;
// AWS S3 when neither is set), AWS_REGION or AWS_DEFAULT_REGION (default
// us-east-1), and the credential chain of s3store.DefaultCredentials. The
// bucket must exist; Init says so by name when it does not, or when the
// credentials are refused.
func openS3Store(ctx context.Context, loc string, getenv env) (*s3store.BlobStore, error) {
	bucket, prefix, err := s3store.ParseLocation(loc)
	if err != nil {
		return nil, fmt.Errorf("artifacts: %w", err)
	}
	endpoint := getenv("AWS_ENDPOINT_URL_S3")
	if endpoint == "" {
		endpoint = getenv("AWS_ENDPOINT_URL")
	}
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	creds, err := s3store.DefaultCredentials(getenv)
	if err != nil {
		return nil, fmt.Errorf("artifacts %s: %w", loc, err)
	}
	s, err := s3store.New(s3store.Config{Bucket: bucket, Prefix: prefix, Endpoint: endpoint, Region: region, Credentials: creds})
	if err != nil {
		return nil, fmt.Errorf("artifacts %s: %w", loc, err)
	}
	if err := s.Init(ctx); err != nil {
		return nil, fmt.Errorf("open artifact store %s: %w", loc, err)
	}
	return s, nil
}
