package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"

	"github.com/hangar-ml/hangar"
)

// Blobs are content-addressed and their content is stored once for the
// whole server, but they belong to workspaces: a workspace reads only the
// blobs uploaded to it (Server.BlobIndex), and a blob it does not own is
// answered exactly like one that exists nowhere.

func (s *Server) blobStore() (hangar.BlobStore, error) {
	if s.Blobs == nil {
		return nil, hangar.Errorf(hangar.ENOTIMPLEMENTED, "this server has no artifact store")
	}
	if s.BlobIndex == nil { // Handler refuses this configuration
		return nil, errors.New("blob routes: no blob index (Server.BlobIndex)")
	}
	return s.Blobs, nil
}

// putBlob streams the raw body into the store, bounded by MaxBlobBytes
// rather than the JSON limit and paced rather than bounded in time, then
// records that the workspace owns the blob, with the upload's audit event
// (artifacts/write on blobs/<digest>), whether or not its content was there
// already.
func (s *Server) putBlob(w http.ResponseWriter, r *http.Request, c *caller) error {
	bs, err := s.blobStore()
	if err != nil {
		return err
	}
	if r.ContentLength > s.MaxBlobBytes {
		return hangar.Errorf(hangar.ETOOLARGE, "request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, s.MaxBlobBytes)
	}
	rc := http.NewResponseController(w)
	body := pacedReader{r: r.Body, p: newPacer(r, rc.SetReadDeadline)}
	info, err := bs.Put(r.Context(), http.MaxBytesReader(w, io.NopCloser(body), s.MaxBlobBytes))
	endStream(w, r)
	if err != nil {
		return bodyEndedEarly(r, err)
	}
	// The blob is stored: record it even if the client has gone meanwhile.
	ctx := context.WithoutCancel(r.Context())
	if err := s.BlobIndex.AddBlob(ctx, c.workspace, info); err != nil {
		return fmt.Errorf("record upload of %s: %w", info.Digest, err)
	}
	return writeJSON(w, http.StatusCreated, info)
}

// bodyEndedEarly turns the failure of reading a request body because the
// client was too slow (the read deadline passed) into EINVALID: it is the
// client's doing, not a server error to log and count as 500. A client that
// hung up has cancelled the request (net/http cancels its context on any
// failed read of the connection but a timeout): the error stays internal,
// which writeError counts as 499 and answers with nothing. Other errors pass
// unchanged.
func bodyEndedEarly(r *http.Request, err error) error {
	if hangar.ErrorCode(err) != hangar.EINTERNAL {
		return err
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return err // writeError answers 413
	case errors.Is(err, os.ErrDeadlineExceeded):
		return bodyTooSlow()
	case r.Context().Err() != nil:
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return hangar.Errorf(hangar.EINVALID, "request body ended early: the client closed the connection before sending all of it")
	}
	return err
}

// bodyTooSlow is the error of a request body that did not arrive in time.
func bodyTooSlow() error {
	return hangar.Errorf(hangar.EINVALID, "request body arrived too slowly: the connection's time for it ran out")
}

// getBlob streams a blob the workspace owns, with its length and its digest
// as the ETag; HEAD answers the headers only. A digest the workspace does
// not own is 404 whether or not the content is stored for another.
func (s *Server) getBlob(w http.ResponseWriter, r *http.Request, c *caller) error {
	bs, err := s.blobStore()
	if err != nil {
		return err
	}
	d, err := hangar.ParseDigest(r.PathValue("digest"))
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := s.BlobIndex.WorkspaceBlob(ctx, c.workspace, d); err != nil {
		return err
	}
	info, err := bs.Stat(ctx, d)
	if hangar.IsCode(err, hangar.ENOTFOUND) {
		// Owned but gone from the store (another artifact folder, or
		// removed by hand): the operator should know, the client sees 404.
		s.Logger.WarnContext(ctx, "blob recorded for a workspace is missing from the artifact store",
			slog.String("request_id", hangar.RequestIDFrom(ctx)),
			slog.String("workspace", c.workspace),
			slog.String("digest", string(d)))
		return hangar.BlobNotFound(c.workspace, d)
	}
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
	out := pacedWriter{w: w, p: newPacer(r, http.NewResponseController(w).SetWriteDeadline)}
	_, err = io.Copy(out, rc)
	endStream(w, r)
	if err != nil {
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
