package jobrun

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/dataset"
)

// ErrEmptyOutput is DataRegistrar.Register's answer for an output with no
// files: a data asset version holds at least one, so there is nothing to
// register — which does not fail the job (RegisteringJobs), as a
// summary_only batch job whose script wrote its results elsewhere shows.
var ErrEmptyOutput = hangar.Errorf(hangar.EINVALID, "the output is empty: a data asset version holds at least one file")

// DataRegistrar registers job outputs as data asset versions, as
// `data create` does with uploaded content: sizes from the manifest, and
// a profile for CSV and Parquet (the reference monitoring compares with).
type DataRegistrar struct {
	Data  hangar.DataService
	Blobs hangar.BlobStore
}

// Register is Scheduler.Register: a carries the name, version, type,
// description and tags, and Manifest.Digest the output's manifest. Without
// a version, content equal to the latest version's is that version: a
// reused or deterministic rerun step adds no version. With a version that
// exists already, the same content and type is that version (whichever job
// registered it); other content is ECONFLICT.
func (r DataRegistrar) Register(ctx context.Context, workspace string, a *hangar.DataAsset) (*hangar.DataAsset, error) {
	d := a.Manifest.Digest
	if a.Version == "" {
		// The same content again (a reused or rerun step) is the
		// version that holds it already, not one more version.
		if latest, err := r.Data.LatestDataVersion(ctx, workspace, a.Name); err == nil && latest.Manifest.Digest == d && latest.Type == a.Type {
			return latest, nil
		}
	}
	m, err := artifact.ReadManifest(ctx, r.Blobs, d)
	if err != nil {
		return nil, fmt.Errorf("read the output's manifest: %w", err)
	}
	info, err := r.Blobs.Stat(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("read the output's manifest: %w", err)
	}
	if len(m.Files) == 0 {
		return nil, ErrEmptyOutput
	}
	if a.Type == hangar.DataURIFile && len(m.Files) != 1 {
		return nil, hangar.Errorf(hangar.EINVALID, "a uri_file output holds %d files, want 1", len(m.Files))
	}
	cp := *a
	cp.Manifest = info
	cp.Path = string(d)
	cp.Size, cp.FileCount = m.TotalSize(), int64(len(m.Files))
	if p, err := dataset.Profile(ctx, r.Blobs, cp.Type, m); err == nil {
		cp.Profile = p
	}
	created, err := r.Data.CreateDataVersion(ctx, workspace, &cp)
	if hangar.ErrorCode(err) == hangar.ECONFLICT && a.Version != "" {
		// The version holding this same content is the one asked for,
		// whichever job registered it: a runner's report sent again after
		// a lost answer, a reused step (its outputs are the original's
		// manifests), a deterministic rerun. Only other content (or type)
		// is a conflict — the rule the no-version path uses.
		if v, verr := r.Data.DataVersion(ctx, workspace, a.Name, a.Version); verr == nil && v.Manifest.Digest == d && v.Type == a.Type {
			return v, nil
		}
	}
	return created, err
}

// RegisteringJobs is a hangar.JobService that makes the outputs a job
// names (an output with a name, and maybe a version) data asset versions
// in the transition that completes it, before the store records it
// Completed: whoever sees the job Completed — the status is the signal
// clients wait for — finds its data assets, and its outputs name them
// (JobOutput.Asset). The step runner's report reaches the store through
// it (the server's JobService), as do the scheduler's own completions
// (a reused step, a pipeline). Command jobs (steps and trials included)
// register their step's named outputs, pipelines their pipeline-level
// ones; other jobs and transitions pass through unchanged.
//
// An output that cannot be registered (a version that exists with other
// content, a store that fails) fails the job — as Azure fails a job whose
// outputs it cannot upload — with the reason in its error and its log;
// its outputs are still recorded, so they can be downloaded. An empty
// output (ErrEmptyOutput), a server without Register and an output of a
// model type are said in the log and do not fail the job.
type RegisteringJobs struct {
	hangar.JobService
	// Register registers one output (DataRegistrar.Register); nil: outputs
	// are not registered.
	Register func(ctx context.Context, workspace string, a *hangar.DataAsset) (*hangar.DataAsset, error)

	// mu and busy serialise the reports of one job in this process only:
	// a report and its resend that reach two servers sharing a database
	// may both register the outputs (ARCHITECTURE.md).
	mu   sync.Mutex
	busy map[string]chan struct{} // workspace/job whose outputs are being registered → closed when done
}

var _ hangar.JobService = (*RegisteringJobs)(nil)

// TransitionJob is hangar.JobService.TransitionJob; a move to Completed
// with outputs registers the named ones first (RegisteringJobs). While it
// registers, the runner's lease is renewed (a large table's profile may
// take longer than the lease), and a second report of the same job (the
// runner sending it again after its request timed out) waits for the
// first and then finds the job ended — within this process: the lock is
// in memory, not in the store. Errors: those of the store.
func (r *RegisteringJobs) TransitionJob(ctx context.Context, workspace, name string, t hangar.JobTransition) (*hangar.Job, error) {
	if t.To != hangar.JobCompleted || len(t.Outputs) == 0 {
		return r.JobService.TransitionJob(ctx, workspace, name, t)
	}
	unlock, err := r.lock(ctx, key(workspace, name))
	if err != nil {
		return nil, err
	}
	defer unlock()
	// A runner that hangs up (its request timed out) does not stop the
	// job from completing, nor fail it with its cancelled request: it
	// finds the job ended when it asks again.
	ctx = context.WithoutCancel(ctx)
	j, err := r.JobService.Job(ctx, workspace, name)
	if err != nil {
		return nil, err
	}
	// Only for a transition the store will take: a runner that lost its
	// job registers nothing (the store refuses it as before).
	if j.Status.Terminal() || (len(t.From) > 0 && !slices.Contains(t.From, j.Status)) || (t.Holder != "" && j.Holder != t.Holder) {
		return r.JobService.TransitionJob(ctx, workspace, name, t)
	}
	specs, err := outputSpecs(j, t.Spec)
	if err != nil || len(specs) == 0 {
		return r.JobService.TransitionJob(ctx, workspace, name, t)
	}
	stop := r.renew(ctx, j, t.Holder)
	outs, failed := registerOutputs(ctx, r.JobService, r.Register, j, specs, t.Outputs)
	stop()
	t.Outputs = outs
	if failed != "" {
		t.To, t.Error = hangar.JobFailed, failed
	}
	return r.JobService.TransitionJob(ctx, workspace, name, t)
}

// lock waits until no other report of job k is being registered in this
// process and takes its turn; unlock gives it back. Another server
// process sharing the store does not see it.
func (r *RegisteringJobs) lock(ctx context.Context, k string) (unlock func(), err error) {
	for {
		r.mu.Lock()
		done, ok := r.busy[k]
		if !ok {
			if r.busy == nil {
				r.busy = map[string]chan struct{}{}
			}
			done = make(chan struct{})
			r.busy[k] = done
			r.mu.Unlock()
			return func() {
				r.mu.Lock()
				delete(r.busy, k)
				r.mu.Unlock()
				close(done)
			}, nil
		}
		r.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// renew keeps holder's lease of j from expiring until stop is called: it
// renews it at once and every third of the lease for as long as it had
// left (at least 30 s), so the lease never ends earlier than it would have.
func (r *RegisteringJobs) renew(ctx context.Context, j *hangar.Job, holder string) (stop func()) {
	if holder == "" || j.LeaseExpires == nil {
		return func() {}
	}
	lease := max(time.Until(*j.LeaseExpires), 30*time.Second)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(lease / 3)
		defer tick.Stop()
		for {
			if _, err := r.JobService.TransitionJob(ctx, j.Workspace, j.Name, hangar.JobTransition{Holder: holder, Lease: lease}); err != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// outputSpecs returns the output specs of a job (its spec, or spec when
// set: the one the transition records).
func outputSpecs(j *hangar.Job, spec string) (map[string]*Output, error) {
	cp := *j
	if spec != "" {
		cp.Spec = spec
	}
	switch j.Type {
	case hangar.JobTypeCommand:
		st, err := StepOf(&cp)
		if err != nil {
			return nil, err
		}
		return st.Outputs, nil
	case hangar.JobTypePipeline:
		p, err := PipelineOf(&cp)
		if err != nil {
			return nil, err
		}
		return p.Outputs, nil
	}
	return nil, nil
}

// registerOutputs registers the outputs of j in outs whose spec names a
// data asset (and that are not registered yet) and returns outs with
// their Asset set, saying each in the job's log. It stops at the first
// output that cannot be registered, returning outs as registered so far
// and why, naming the output and the asset ("" when all were).
func registerOutputs(ctx context.Context, jobs hangar.JobService, register func(ctx context.Context, workspace string, a *hangar.DataAsset) (*hangar.DataAsset, error),
	j *hangar.Job, specs map[string]*Output, outs map[string]hangar.JobOutput) (map[string]hangar.JobOutput, string) {
	res := make(map[string]hangar.JobOutput, len(outs))
	for name, o := range outs {
		res[name] = o
	}
	logf := func(format string, args ...any) {
		jobs.AppendJobLog(ctx, j.Workspace, j.Name, fmt.Appendf(nil, "[hangar] "+format+"\n", args...))
	}
	for _, name := range sortedKeys(outs) {
		o, spec := outs[name], specs[name]
		if spec == nil || spec.Name == "" || o.Manifest == "" || o.Asset != "" {
			continue
		}
		if register == nil {
			logf("output %s was not registered as data asset %s: this server does not register outputs", name, spec.Name)
			continue
		}
		switch spec.Type {
		case hangar.DataURIFile, hangar.DataURIFolder, hangar.DataMLTable:
		default:
			logf("output %s is a %s: it was not registered as %s (models are registered through the model registry)", name, spec.Type, spec.Name)
			continue
		}
		a, err := register(ctx, j.Workspace, &hangar.DataAsset{
			Name: spec.Name, Version: spec.Version, Type: spec.Type, Path: string(o.Manifest),
			Manifest:    hangar.BlobInfo{Digest: o.Manifest},
			Description: "output " + name + " of job " + j.Name,
			Tags:        map[string]string{"hangar.job": j.Name, "hangar.output": name},
		})
		if errors.Is(err, ErrEmptyOutput) {
			logf("output %s was not registered as data asset %s: %s", name, spec.Name, hangar.ErrorMessage(err))
			continue
		}
		if err != nil {
			msg := fmt.Sprintf("output %s was not registered as data asset %s: %s", name, spec.Name, hangar.ErrorMessage(err))
			logf("%s", msg)
			return res, msg
		}
		o.Asset = a.Name + ":" + a.Version
		res[name] = o
		logf("output %s registered as data asset %s", name, o.Asset)
	}
	return res, ""
}
