package main

import (
	"context"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/jobrun"
)

// remoteControl is the step runner's jobrun.Control over the native HTTP
// API: `hangar run-step` reaches the server with it.
type remoteControl struct{ c *httpapi.Client }

var _ jobrun.Control = remoteControl{}

func (r remoteControl) LeaseJob(ctx context.Context, ws, name string, req jobrun.LeaseRequest) (*hangar.Job, error) {
	return r.c.LeaseJob(ctx, ws, name, httpapi.JobLeaseRequest{Holder: req.Holder, LeaseSeconds: int(req.Lease / time.Second), From: req.From, To: req.To})
}

func (r remoteControl) FinishJob(ctx context.Context, ws, name string, req jobrun.FinishRequest) (*hangar.Job, error) {
	return r.c.FinishJob(ctx, ws, name, httpapi.JobFinishRequest{Holder: req.Holder, Status: req.Status, Error: req.Error, Outputs: req.Outputs})
}

func (r remoteControl) AppendJobLog(ctx context.Context, ws, name, holder string, data []byte) error {
	return r.c.AppendJobLog(ctx, ws, name, holder, data)
}

func (r remoteControl) BlobStore(ws string) hangar.BlobStore { return r.c.BlobStore(ws) }
