package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/jobspec"
	"github.com/hangar-ml/hangar/profile"
)

// dataView is a data version as the CLI prints it: the API's fields, with
// the profile as the JSON object it is rather than its text.
type dataView struct {
	*hangar.DataAsset
	Datastore string          `json:"datastore"`
	Profile   json.RawMessage `json:"profile,omitempty"`
}

func viewData(a *hangar.DataAsset) dataView {
	v := dataView{DataAsset: a, Datastore: a.Datastore()}
	if a.Profile != "" {
		v.Profile = json.RawMessage(a.Profile)
	}
	return v
}

func viewDataList(as []*hangar.DataAsset) []dataView {
	out := make([]dataView, len(as))
	for i, a := range as {
		out[i] = viewData(a)
		out[i].Profile = nil // lists stay short; data show has it
	}
	return out
}

func newDataCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("data", "Create, list, show, download, archive, restore and share data assets")
	cmd.Long = `Versioned data assets, as az ml data: uri_file, uri_folder and mltable.

A version's path is a local file or folder (uploaded to the workspace's
default datastore, content-addressed: content the server has is not sent
again) or azureml://datastores/<datastore>/paths/<path>, which the server
snapshots. Versions are immutable; a version created without --version is
numbered after the greatest one. CSV and Parquet data gets a profile.`
	cols := []string{"name", "version", "type", "datastore", "size", "file_count", "archived", "created_at"}
	cmd.AddCommand(
		newDataCreateCmd(cli, cols),
		newDataListCmd(cli, cols),
		newDataShowCmd(cli, cols),
		newDataDownloadCmd(cli),
		newDataArchiveCmd(cli, cols, true),
		newDataArchiveCmd(cli, cols, false),
		newDataShareCmd(cli, cols),
		newDataUsedByCmd(cli), // data_usedby.go
	)
	return cmd
}

func newDataCreateCmd(cli *clientConfig, cols []string) *cobra.Command {
	var (
		file, name, version, typ, path, description, progressMode string
		tags                                                      []string
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a data asset version from a YAML file (-f) or from --name, --path and --type",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec := &jobspec.Data{Type: jobspec.URIFolder}
			base := "."
			if file != "" {
				b, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("data create: %w", err)
				}
				if spec, err = jobspec.ParseData(file, b); err != nil {
					return err
				}
				base = filepath.Dir(file)
			}
			if name != "" {
				spec.Name = name
			}
			if version != "" {
				spec.Version = version
			}
			if typ != "" {
				spec.Type = jobspec.Type(typ)
			}
			if path != "" {
				spec.Path, base = path, "." // a path given on the command line is the shell's
			}
			if description != "" {
				spec.Description = description
			}
			if len(tags) > 0 {
				var err error
				if spec.Tags, err = parseTags(tags, spec.Tags); err != nil {
					return err
				}
			}
			switch {
			case spec.Name == "":
				return errors.New("data create needs -f FILE or --name/-n")
			case spec.Path == "":
				return errors.New("data create needs --path/-p (a local file or folder, or azureml://datastores/<datastore>/paths/<path>)")
			}
			a := &hangar.DataAsset{Name: spec.Name, Version: spec.Version, Type: string(spec.Type),
				Description: spec.Description, Tags: spec.Tags}
			if err := checkCreateInput(a, spec.Path); err != nil {
				return err
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if a.Version != "" {
				// Versions are immutable: say so before uploading anything.
				if _, err := c.DataVersion(ctx, cli.Workspace, a.Name, a.Version); err == nil {
					return hangar.Errorf(hangar.ECONFLICT, "Data asset %s with version %s already exists: versions are immutable; create another version", a.Name, a.Version)
				} else if !hangar.IsCode(err, hangar.ENOTFOUND) {
					return err
				}
			}
			bar, err := newProgressBar(cmd.ErrOrStderr(), progressMode)
			if err != nil {
				return err
			}
			if a.Path, err = uploadDataPath(ctx, c, cli.Workspace, a.Type, base, spec.Path, bar); err != nil {
				return err
			}
			out, err := c.CreateDataVersion(ctx, cli.Workspace, a)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), viewData(out), cols...)
		},
	}
	f := create.Flags()
	f.StringVarP(&file, "file", "f", "", "data asset YAML (Azure ML's data.schema.json); flags given override its fields")
	f.StringVarP(&name, "name", "n", "", "data asset name")
	f.StringVarP(&version, "version", "v", "", "version (default: the greatest numbered version plus one)")
	f.StringVarP(&typ, "type", "t", "", "uri_file, uri_folder (the default) or mltable")
	f.StringVarP(&path, "path", "p", "", "a local file or folder, or azureml://datastores/<datastore>/paths/<path>")
	f.StringVarP(&description, "description", "d", "", "description")
	f.StringArrayVar(&tags, "tags", nil, "tag key=value (repeatable)")
	f.StringVar(&progressMode, "progress", "auto", "upload progress on stderr: auto (a bar on a terminal, a final line otherwise), bar, line or none")
	return create
}

// checkCreateInput checks what the server would refuse, before uploading.
func checkCreateInput(a *hangar.DataAsset, path string) error {
	if err := hangar.ValidateName("data asset", a.Name); err != nil {
		return err
	}
	if a.Version != "" {
		if err := hangar.ValidateDataVersion(a.Version); err != nil {
			return err
		}
	}
	switch a.Type {
	case hangar.DataURIFile, hangar.DataURIFolder, hangar.DataMLTable:
	default:
		return hangar.Errorf(hangar.EINVALID, "invalid data asset type %q: want %s, %s or %s", a.Type, hangar.DataURIFile, hangar.DataURIFolder, hangar.DataMLTable)
	}
	if strings.HasPrefix(path, "azureml:") {
		if _, _, err := hangar.ParseDatastoreURI(path); err != nil {
			return err
		}
	} else if strings.Contains(path, "://") {
		return hangar.Errorf(hangar.EINVALID, "path %q: only local paths and azureml://datastores/<datastore>/paths/<path> are supported", path)
	}
	return nil
}

// uploadDataPath returns the path to create a version with: a datastore
// URI as it is, or a local path (relative to base) uploaded to the
// workspace, as the digest of its manifest.
func uploadDataPath(ctx context.Context, c *httpapi.Client, workspace, typ, base, p string, bar *progressBar) (string, error) {
	if strings.HasPrefix(p, "azureml:") {
		return p, nil
	}
	local := p
	if !filepath.IsAbs(local) {
		local = filepath.Join(base, local)
	}
	fi, err := os.Stat(local)
	if errors.Is(err, fs.ErrNotExist) {
		return "", hangar.Errorf(hangar.EINVALID, "path %s does not exist", local)
	}
	if err != nil {
		return "", err
	}
	switch {
	case typ == hangar.DataURIFile && fi.IsDir():
		return "", hangar.Errorf(hangar.EINVALID, "path %s is a folder; a %s data asset is one file (use --type %s)", local, hangar.DataURIFile, hangar.DataURIFolder)
	case typ != hangar.DataURIFile && !fi.IsDir():
		return "", hangar.Errorf(hangar.EINVALID, "path %s is a file; a %s data asset is a folder (use --type %s)", local, typ, hangar.DataURIFile)
	}
	opt := artifact.UploadOptions{Progress: bar.update}
	var info hangar.BlobInfo
	var m *hangar.Manifest
	store := c.BlobStore(workspace)
	if fi.IsDir() {
		info, m, err = artifact.UploadDir(ctx, store, os.DirFS(local), opt)
	} else {
		info, m, err = artifact.UploadFile(ctx, store, os.DirFS(filepath.Dir(local)), filepath.Base(local), opt)
	}
	if err != nil {
		return "", err
	}
	bar.finish(len(m.Files))
	return string(info.Digest), nil
}

func newDataListCmd(cli *clientConfig, cols []string) *cobra.Command {
	var name string
	var archived bool
	var maxResults int
	list := &cobra.Command{
		Use:   "list",
		Short: "List data assets (their latest versions), or with --name the versions of one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if archived && name == "" {
				return errors.New("data list: --include-archived lists archived versions of one asset: give --name/-n")
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			items, err := collect(cmd.Context(), maxResults, func(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.DataAsset], error) {
				if name == "" {
					return c.ListData(ctx, cli.Workspace, opt)
				}
				return c.ListDataVersions(ctx, cli.Workspace, name, archived, opt)
			})
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), viewDataList(items), cols...)
		},
	}
	list.Flags().StringVarP(&name, "name", "n", "", "list the versions of this data asset")
	list.Flags().BoolVar(&archived, "include-archived", false, "with --name: list archived versions too")
	list.Flags().IntVarP(&maxResults, "max-results", "r", 0, "return at most this many items (default all)")
	return list
}

// dataVersionFlags are -n, -v and -l of the verbs on one version.
type dataVersionFlags struct {
	name, version, label string
}

func (v *dataVersionFlags) bind(cmd *cobra.Command, label bool) {
	cmd.Flags().StringVarP(&v.name, "name", "n", "", "data asset name")
	cmd.Flags().StringVarP(&v.version, "version", "v", "", "version")
	if label {
		cmd.Flags().StringVarP(&v.label, "label", "l", "", "label: latest")
	}
}

// get reads the version the flags name.
func (v *dataVersionFlags) get(ctx context.Context, c *httpapi.Client, workspace, verb string) (*hangar.DataAsset, error) {
	if err := v.check(verb); err != nil {
		return nil, err
	}
	if v.label != "" {
		return c.LatestDataVersion(ctx, workspace, v.name)
	}
	return c.DataVersion(ctx, workspace, v.name, v.version)
}

func (v *dataVersionFlags) check(verb string) error {
	switch {
	case v.name == "":
		return fmt.Errorf("data %s needs --name/-n", verb)
	case v.version != "" && v.label != "":
		return fmt.Errorf("data %s: --version/-v and --label/-l are mutually exclusive", verb)
	case v.label != "" && v.label != hangar.LatestLabel:
		return hangar.Errorf(hangar.EINVALID, "data %s: unknown label %q: the one label is %s", verb, v.label, hangar.LatestLabel)
	case v.version == "" && v.label == "":
		return fmt.Errorf("data %s needs --version/-v or --label/-l %s", verb, hangar.LatestLabel)
	}
	return nil
}

func newDataShowCmd(cli *clientConfig, cols []string) *cobra.Command {
	var v dataVersionFlags
	show := &cobra.Command{
		Use:   "show",
		Short: "Show a data version and its profile (-v VERSION or -l latest)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			a, err := v.get(cmd.Context(), c, cli.Workspace, "show")
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if err := cli.printResult(out, viewData(a), cols...); err != nil {
				return err
			}
			if cli.output != "table" || a.Profile == "" || cli.query != "" {
				return nil
			}
			p, err := profile.Decode([]byte(a.Profile))
			if err != nil {
				return fmt.Errorf("data show: the stored profile: %w", err)
			}
			fmt.Fprintln(out)
			return writeProfile(out, p)
		},
	}
	v.bind(show, true)
	return show
}

func newDataDownloadCmd(cli *clientConfig) *cobra.Command {
	var v dataVersionFlags
	var dst string
	download := &cobra.Command{
		Use:   "download",
		Short: "Download a data version's files into DOWNLOAD_PATH/NAME",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			a, err := v.get(ctx, c, cli.Workspace, "download")
			if err != nil {
				return err
			}
			if a.Manifest.Digest == "" {
				return hangar.Errorf(hangar.EINVALID, "data asset %s version %s has no stored content to download", a.Name, a.Version)
			}
			dir := filepath.Join(dst, a.Name)
			if err := artifact.GetDir(ctx, c.BlobStore(cli.Workspace), a.Manifest.Digest, dir); err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.ErrOrStderr(), "downloaded", a.Name+":"+a.Version, "to", dir)
			return err
		},
	}
	v.bind(download, true)
	download.Flags().StringVarP(&dst, "download-path", "p", ".", "folder to download into (the files go to DOWNLOAD_PATH/NAME)")
	return download
}

func newDataArchiveCmd(cli *clientConfig, cols []string, archive bool) *cobra.Command {
	use, short := "restore", "Restore an archived data version"
	if archive {
		use, short = "archive", "Archive a data version: hidden from lists and @latest, still readable by its version"
	}
	var v dataVersionFlags
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if v.version == "" {
				return fmt.Errorf("data %s needs --name/-n and --version/-v", use)
			}
			if err := v.check(use); err != nil {
				return err
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			a, err := c.SetDataVersionArchived(cmd.Context(), cli.Workspace, v.name, v.version, archive)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), viewData(a), cols...)
		},
	}
	v.bind(cmd, false)
	return cmd
}

func newDataShareCmd(cli *clientConfig, cols []string) *cobra.Command {
	var v dataVersionFlags
	var to, withName, withVersion string
	share := &cobra.Command{
		Use:   "share",
		Short: "Copy a data version into another workspace (same content, owned there too)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if v.version == "" {
				return errors.New("data share needs --name/-n and --version/-v")
			}
			if err := v.check("share"); err != nil {
				return err
			}
			if to == "" {
				return errors.New("data share needs --to-workspace")
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			a, err := c.ShareDataVersion(cmd.Context(), cli.Workspace, v.name, v.version, to, withName, withVersion)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), viewData(a), cols...)
		},
	}
	v.bind(share, false)
	share.Flags().StringVar(&to, "to-workspace", "", "the workspace to share into")
	share.Flags().StringVar(&withName, "share-with-name", "", "name in the target workspace (default: the same)")
	share.Flags().StringVar(&withVersion, "share-with-version", "", "version in the target workspace (default: the same)")
	return share
}

// writeProfile prints a profile for people: per column its type, counts,
// statistics, quantiles, top categories and a text histogram.
func writeProfile(w io.Writer, p *profile.Profile) error {
	bw := &errWriter{w: w}
	bw.printf("profile: %d rows, %d columns\n", p.Rows, len(p.Columns))
	for _, c := range p.Columns {
		bw.printf("\n%s (%s)\n", c.Name, c.Type)
		approx := ""
		if !c.DistinctExact {
			approx = "≈"
		}
		bw.printf("  present %d  missing %d  distinct %s%d\n", c.Count, c.Missing, approx, c.Distinct)
		if n := c.Numeric; n != nil {
			bw.printf("  min %s  max %s  mean %s  std %s", num(n.Min), num(n.Max), num(n.Mean), num(n.Std))
			if n.Infinite > 0 {
				bw.printf("  infinite %d", n.Infinite)
			}
			bw.printf("\n")
			if len(n.Quantiles) > 0 {
				parts := make([]string, len(n.Quantiles))
				for i, q := range n.Quantiles {
					parts[i] = fmt.Sprintf("p%s %s", num(q.P*100), num(q.Value))
				}
				bw.printf("  quantiles %s\n", strings.Join(parts, "  "))
			}
		}
		if d := c.Datetime; d != nil {
			bw.printf("  from %s to %s\n", d.Min, d.Max)
		}
		if cat := c.Categories; cat != nil && len(cat.Values) > 0 {
			parts := []string{}
			for i, v := range cat.Values {
				if i == 5 {
					break
				}
				parts = append(parts, fmt.Sprintf("%q %d", v.Value, v.Count))
			}
			bw.printf("  top %s", strings.Join(parts, ", "))
			if cat.Other > 0 {
				bw.printf(", other %d", cat.Other)
			}
			bw.printf("\n")
		}
		if h := c.Histogram; h != nil && len(h.Counts) > 0 {
			writeHistogram(bw, h)
		}
	}
	return bw.err
}

// histWidth is the width of the longest bar of a text histogram.
const histWidth = 30

func writeHistogram(bw *errWriter, h *profile.Histogram) {
	var most int64
	for _, n := range h.Counts {
		most = max(most, n)
	}
	labels := make([]string, len(h.Counts))
	width := 0
	for i := range h.Counts {
		labels[i] = fmt.Sprintf("[%s, %s", num(h.Edges[i]), num(h.Edges[i+1]))
		if i == len(h.Counts)-1 {
			labels[i] += "]"
		} else {
			labels[i] += ")"
		}
		width = max(width, len(labels[i]))
	}
	bw.printf("  histogram\n")
	for i, n := range h.Counts {
		bar := 0
		if most > 0 {
			bar = int((n*histWidth + most - 1) / most)
		}
		bw.printf("    %-*s %s %d\n", width, labels[i], strings.Repeat("█", bar), n)
	}
}

// num prints a number briefly: integers whole, others with 6 significant
// digits.
func num(f float64) string {
	return fmt.Sprintf("%.6g", f)
}

// errWriter keeps the first write error, so printing code stays flat.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
