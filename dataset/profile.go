package dataset

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/profile"
)

// TableFiles returns the files of a manifest that a version's profile is
// made of, as one table: the one file of a uri_file when it is CSV or
// Parquet (by extension: .csv; .parquet or .pq), and for a folder or
// mltable its CSV or Parquet files, the MLTable file and files whose names
// start with "." aside — one Parquet file, or any number of CSV files in
// path order (parts of one table: Profile checks that they share their
// header line). A folder mixing CSV and Parquet, or of several Parquet
// files, has no profile: which of them is the reference is the user's
// choice, not ours to guess.
func TableFiles(typ string, m *hangar.Manifest) ([]hangar.ManifestEntry, bool) {
	var csv, parquet []hangar.ManifestEntry
	for _, e := range m.Files {
		base := path.Base(e.Path)
		if strings.HasPrefix(base, ".") || (typ == hangar.DataMLTable && e.Path == MLTableFile) {
			continue
		}
		switch tableKind(e.Path) {
		case "csv":
			csv = append(csv, e)
		case "parquet":
			parquet = append(parquet, e)
		}
	}
	switch {
	case typ == hangar.DataURIFile && len(m.Files) != 1:
		return nil, false
	case len(csv) > 0 && len(parquet) == 0:
		return csv, true
	case len(parquet) == 1 && len(csv) == 0:
		return parquet, true
	}
	return nil, false
}

// tableKind is "csv", "parquet" or "" by a file's extension.
func tableKind(p string) string {
	switch strings.ToLower(path.Ext(p)) {
	case ".csv":
		return "csv"
	case ".parquet", ".pq":
		return "parquet"
	}
	return ""
}

// Profile computes the profile of a version's table (TableFiles) streaming
// from the blob store, and returns its JSON text, or "" when the version
// has no table, its CSV parts do not share one header line, or its
// profile would exceed hangar.MaxDataProfileSize. CSV parts are read as
// one table, each header after the first left out. A Parquet file is read
// in place when the store's reader can seek (io.ReaderAt, as the disk
// store's files), else spooled to a temporary file: memory never depends
// on the rows. Errors: EINVALID (a malformed table, naming the file), and
// the store's.
func Profile(ctx context.Context, blobs hangar.BlobStore, typ string, m *hangar.Manifest) (string, error) {
	files, ok := TableFiles(typ, m)
	if !ok {
		return "", nil
	}
	var p *profile.Profile
	var err error
	if tableKind(files[0].Path) == "csv" {
		r := &csvParts{ctx: ctx, blobs: blobs, files: files}
		defer r.close()
		p, err = profile.CSV(ctx, r, profile.Options{})
		if r.mismatch != "" {
			return "", nil
		}
	} else {
		p, err = parquetFile(ctx, blobs, files[0])
	}
	if err != nil {
		return "", fmt.Errorf("profile %s: %w", files[0].Path, err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("profile %s: %w", files[0].Path, err)
	}
	if len(b) > hangar.MaxDataProfileSize {
		return "", nil
	}
	return string(b), nil
}

func parquetFile(ctx context.Context, blobs hangar.BlobStore, e hangar.ManifestEntry) (*profile.Profile, error) {
	rc, err := blobs.Open(ctx, e.Digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return parquetProfile(ctx, rc, e.Size)
}

// csvParts reads CSV files one after the other as one table: the first
// whole, each next one without its header line, which must equal the
// first's (else mismatch names the file and reading stops). A part that
// does not end with a newline gets one.
type csvParts struct {
	ctx      context.Context
	blobs    hangar.BlobStore
	files    []hangar.ManifestEntry
	i        int // the part being read
	cur      *bufio.Reader
	rc       io.ReadCloser
	header   []byte
	last     byte // the last byte handed out
	mismatch string
}

func (c *csvParts) Read(p []byte) (int, error) {
	for {
		if c.cur == nil {
			if c.i == len(c.files) {
				return 0, io.EOF
			}
			if c.i > 0 && c.last != '\n' {
				c.last = '\n'
				p[0] = '\n'
				return 1, nil
			}
			if err := c.open(); err != nil {
				return 0, err
			}
			if c.mismatch != "" {
				return 0, io.EOF
			}
		}
		n, err := c.cur.Read(p)
		if n > 0 {
			c.last = p[n-1]
		}
		if err == io.EOF {
			c.close()
			c.cur = nil
			c.i++
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

// open starts the next part, reading its header line.
func (c *csvParts) open() error {
	e := c.files[c.i]
	rc, err := c.blobs.Open(c.ctx, e.Digest)
	if err != nil {
		return fmt.Errorf("open %s: %w", e.Path, err)
	}
	c.rc, c.cur = rc, bufio.NewReaderSize(rc, 64<<10)
	if c.i == 0 {
		return nil
	}
	line, err := c.cur.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		c.mismatch = e.Path // a header beyond 64 KiB: not compared, not profiled
		return nil
	}
	if err != nil && err != io.EOF {
		return fmt.Errorf("read %s: %w", e.Path, err)
	}
	if c.header == nil {
		c.header = c.firstHeader()
	}
	if !bytes.Equal(bytes.TrimRight(line, "\r\n"), c.header) {
		c.mismatch = e.Path
	}
	return nil
}

// firstHeader reads the header line of the first part again.
func (c *csvParts) firstHeader() []byte {
	rc, err := c.blobs.Open(c.ctx, c.files[0].Digest)
	if err != nil {
		return []byte{}
	}
	defer rc.Close()
	line, _ := bufio.NewReaderSize(rc, 64<<10).ReadSlice('\n')
	return bytes.Clone(bytes.TrimRight(line, "\r\n"))
}

func (c *csvParts) close() {
	if c.rc != nil {
		c.rc.Close()
		c.rc = nil
	}
}

func parquetProfile(ctx context.Context, rc io.ReadCloser, size int64) (*profile.Profile, error) {
	if ra, ok := rc.(io.ReaderAt); ok {
		return profile.Parquet(ctx, ra, size)
	}
	tmp, err := os.CreateTemp("", "hangar-profile-*.parquet")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := io.Copy(tmp, rc)
	if err != nil {
		return nil, err
	}
	return profile.Parquet(ctx, tmp, n)
}
