package s3store

import "time"

// SetTimeouts shortens a store's Init and Check deadlines and sets its
// clock, so that tests need not wait for the real ones.
func SetTimeouts(s *BlobStore, initTimeout, checkTimeout time.Duration, now func() time.Time) {
	s.initTimeout, s.checkTimeout, s.now = initTimeout, checkTimeout, now
}
