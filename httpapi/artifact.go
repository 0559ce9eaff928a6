package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/hangar-ml/hangar"
)

// Blobs are content-addressed and stored once for the whole server; the
// workspace in the path is the scope the route authorizes the caller on.

func (s *Server) blobStore() (hangar.BlobStore, error) {
	if s.Blobs == nil {
		return nil, hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server has no artifact store")
	}
	return s.Blobs, nil
}

// putBlob streams the raw body into the store, bounded by MaxBlobBytes
// rather than the JSON limit, and audits the upload (artifacts/write on
// blobs/<digest>) once the blob is stored, whether or not its content was
// there already.
func (s *Server) putBlob(w http.ResponseWriter, r *http.Request, c *caller) error {
	bs, err := s.blobStore()
	if err != nil {
		return err
	}
	if s.Events == nil { // Handler refuses this configuration
		return errors.New("put blob: no audit recorder (Server.Events)")
	}
	if r.ContentLength > s.MaxBlobBytes {
		return hangar.Errorf(hangar.ETOOLARGE, "request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, s.MaxBlobBytes)
	}
	info, err := bs.Put(r.Context(), http.MaxBytesReader(w, r.Body, s.MaxBlobBytes))
	if err != nil {
		return bodyEndedEarly(r, err)
	}
	// The blob is stored: record it even if the client has gone meanwhile.
	ctx := context.WithoutCancel(r.Context())
	if err := s.Events.RecordEvent(ctx, hangar.ActArtifactWrite, "blobs/"+string(info.Digest), c.workspace); err != nil {
		return fmt.Errorf("audit upload of %s: %w", info.Digest, err)
	}
	return writeJSON(w, http.StatusCreated, info)
}

// bodyEndedEarly turns the failure of reading a request body because the
// client hung up (an unexpected EOF, or the request's context cancelled)
// into EINVALID: it is the client's doing, not a server error to log and
// count as 500. Other errors pass unchanged.
func bodyEndedEarly(r *http.Request, err error) error {
	if hangar.ErrorCode(err) != hangar.EINTERNAL {
		return err
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err // writeError answers 413
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.Canceled) || r.Context().Err() != nil {
		return hangar.Errorf(hangar.EINVALID, "request body ended early: the client closed the connection before sending all of it")
	}
	return err
}

// getBlob streams a blob with its length and its digest as the ETag; HEAD
// answers the headers only.
func (s *Server) getBlob(w http.ResponseWriter, r *http.Request, _ *caller) error {
	bs, err := s.blobStore()
	if err != nil {
		return err
	}
	d, err := hangar.ParseDigest(r.PathValue("digest"))
	if err != nil {
		return err
	}
	ctx := r.Context()
	info, err := bs.Stat(ctx, d)
	if err != nil {
		return err
	}
	etag := `"` + string(d) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	rc, err := bs.Open(ctx, d)
	if err != nil {
		h.Del("Content-Type")
		return err
	}
	defer rc.Close()
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		// The status is out; the short body tells the client. Log once.
		return errWritten{fmt.Errorf("stream blob %s: %w", d, err)}
	}
	return nil
}

// PutBlob uploads content to the artifact store, authorized on workspace,
// and returns its digest and size.
func (c *Client) PutBlob(ctx context.Context, workspace string, r io.Reader) (hangar.BlobInfo, error) {
	path := pathf("/api/v1/workspaces/%s/blobs", workspace)
	req, err := c.newRequest(ctx, http.MethodPut, path, nil, r)
	if err != nil {
		return hangar.BlobInfo{}, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.send(req)
	if err != nil {
		return hangar.BlobInfo{}, err
	}
	defer resp.Body.Close()
	var info hangar.BlobInfo
	if err := decodeResponse(resp, &info); err != nil {
		return hangar.BlobInfo{}, fmt.Errorf("PUT %s: %w", path, err)
	}
	return info, nil
}

// OpenBlob streams a blob, authorized on workspace. The caller closes it.
func (c *Client) OpenBlob(ctx context.Context, workspace string, d hangar.Digest) (io.ReadCloser, error) {
	req, err := c.newRequest(ctx, http.MethodGet, pathf("/api/v1/workspaces/%s/blobs/%s", workspace, string(d)), nil, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/octet-stream")
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// StatBlob returns the size of a blob, authorized on workspace.
func (c *Client) StatBlob(ctx context.Context, workspace string, d hangar.Digest) (hangar.BlobInfo, error) {
	path := pathf("/api/v1/workspaces/%s/blobs/%s", workspace, string(d))
	req, err := c.newRequest(ctx, http.MethodHead, path, nil, nil)
	if err != nil {
		return hangar.BlobInfo{}, err
	}
	resp, err := c.send(req)
	if err != nil {
		return hangar.BlobInfo{}, err
	}
	resp.Body.Close()
	return hangar.BlobInfo{Digest: d, Size: resp.ContentLength}, nil
}

// BlobStore returns the artifact store of the server as a hangar.BlobStore
// whose requests are authorized on workspace.
func (c *Client) BlobStore(workspace string) hangar.BlobStore {
	return clientBlobStore{c: c, workspace: workspace}
}

type clientBlobStore struct {
	c         *Client
	workspace string
}

func (b clientBlobStore) Put(ctx context.Context, r io.Reader) (hangar.BlobInfo, error) {
	return b.c.PutBlob(ctx, b.workspace, r)
}

func (b clientBlobStore) Open(ctx context.Context, d hangar.Digest) (io.ReadCloser, error) {
	return b.c.OpenBlob(ctx, b.workspace, d)
}

func (b clientBlobStore) Stat(ctx context.Context, d hangar.Digest) (hangar.BlobInfo, error) {
	return b.c.StatBlob(ctx, b.workspace, d)
}
