package jobrun

import (
	"context"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

// Remote is the step runner's Control over the native HTTP API.
type Remote struct{ Client *httpapi.Client }

var _ Control = Remote{}

// LeaseJob implements Control.
func (r Remote) LeaseJob(ctx context.Context, ws, name string, req LeaseRequest) (*hangar.Job, error) {
	return r.Client.LeaseJob(ctx, ws, name, httpapi.JobLeaseRequest{Holder: req.Holder, LeaseSeconds: int(req.Lease / time.Second), From: req.From, To: req.To})
}

// FinishJob implements Control.
func (r Remote) FinishJob(ctx context.Context, ws, name string, req FinishRequest) (*hangar.Job, error) {
	return r.Client.FinishJob(ctx, ws, name, httpapi.JobFinishRequest{Holder: req.Holder, Status: req.Status, Error: req.Error, Outputs: req.Outputs})
}

// AppendJobLog implements Control.
func (r Remote) AppendJobLog(ctx context.Context, ws, name, holder string, data []byte) error {
	return r.Client.AppendJobLog(ctx, ws, name, holder, data)
}

// BlobStore implements Control.
func (r Remote) BlobStore(ws string) hangar.BlobStore { return r.Client.BlobStore(ws) }
