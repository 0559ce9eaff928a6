package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/sqlstore"
)

// ownerTokenFile is the name of the owner's token file in the data directory.
const ownerTokenFile = "owner.token"

// ownerName is the identity that `hangar server` creates on first start.
const ownerName = "owner"

// ownerStart says what ensureOwnerToken did.
type ownerStart struct {
	secret  string // a token issued now, or ""
	path    string // where it was written
	foreign bool   // the token file exists but its token is unknown to this database
}

// ensureOwnerToken makes sure the owner can get in, and never overwrites a
// token file that belongs to another database. On first start it creates
// the "owner" identity with a server-wide Owner role and a token, written
// to path (mode 0600). When the owner exists but has no active token left
// (a first start that failed half-way) it issues a new one.
//
// The file belongs to this database when the database knows its token. A
// file holding a token this database does not know (a start with a
// mistyped --db, say) is left alone: the new token goes to
// owner-<id>.token beside it, so the real database's owner keeps working.
func ensureOwnerToken(ctx context.Context, ids *sqlstore.IdentityService, path string) (ownerStart, error) {
	ours, present, err := ownTokenFile(ctx, ids, path)
	if err != nil {
		return ownerStart{}, err
	}
	res := ownerStart{foreign: present && !ours}
	id, err := ids.IdentityByName(ctx, ownerName)
	switch {
	case hangar.IsCode(err, hangar.ENOTFOUND):
		id = &hangar.Identity{Name: ownerName, Kind: hangar.KindUser}
		err = ids.CreateIdentity(ctx, id)
		if hangar.IsCode(err, hangar.ECONFLICT) {
			return res, nil // another server sharing the store created it first
		}
		if err != nil {
			return res, fmt.Errorf("create owner: %w", err)
		}
	case err != nil:
		return res, fmt.Errorf("look up owner: %w", err)
	default:
		active, err := hasActiveToken(ctx, ids, ownerName)
		if err != nil || active {
			return res, err
		}
	}
	if res.foreign {
		path = filepath.Join(filepath.Dir(path), "owner-"+id.ID[:12]+".token")
	}
	secret, hash, prefix, err := hangar.NewTokenSecret()
	if err != nil {
		return res, fmt.Errorf("create owner token: %w", err)
	}
	if _, err := ids.CreateToken(ctx, &hangar.TokenRequest{Name: ownerName, Role: hangar.RoleOwner}, hash, prefix); err != nil {
		return res, fmt.Errorf("create owner token: %w", err)
	}
	if err := writeFileAtomic(path, []byte(secret+"\n"), 0o600); err != nil {
		return res, fmt.Errorf("write owner token: %w", err)
	}
	res.secret, res.path = secret, path
	return res, nil
}

// ownTokenFile reports whether the token file at path exists and whether
// this database knows its token (active or not).
func ownTokenFile(ctx context.Context, ids hangar.CredentialStore, path string) (ours, present bool, err error) {
	secret, err := readToken(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, false, nil
	}
	if err != nil {
		return false, true, err
	}
	if !hangar.LooksLikeTokenSecret(secret) {
		return false, true, nil
	}
	tok, err := ids.TokenBySecretHash(ctx, hangar.HashTokenSecret(secret))
	switch {
	case hangar.IsCode(err, hangar.ENOTFOUND):
		return false, true, nil
	case err != nil:
		return false, true, fmt.Errorf("check owner token file: %w", err)
	}
	return tok.IdentityName == ownerName, true, nil
}

// hasActiveToken reports whether the identity holds a token that still works.
func hasActiveToken(ctx context.Context, ids hangar.IdentityService, identity string) (bool, error) {
	now := time.Now()
	opt := hangar.ListOptions{MaxResults: hangar.MaxMaxResults}
	for {
		page, err := ids.ListTokens(ctx, hangar.TokenFilter{}, opt)
		if err != nil {
			return false, fmt.Errorf("list tokens: %w", err)
		}
		for _, t := range page.Items {
			if t.IdentityName == identity && t.Active(now) {
				return true, nil
			}
		}
		if page.NextPageToken == "" {
			return false, nil
		}
		opt.PageToken = page.NextPageToken
	}
}

func newOwnerCmd(getenv env) *cobra.Command {
	cmd := newGroup("owner", "Recover the server's owner identity (run on the server's machine)")
	reset := &cobra.Command{
		Use:   "reset-token",
		Short: "Revoke the owner's tokens and write a new one, working on the database directly",
		Long: `Revoke every active token of the owner identity, make sure it holds the
server-wide Owner role again, issue a new token and write it to
<data-dir>/owner.token (mode 0600, replacing the file). This is the way back
in when the owner token is lost or a file was overwritten.

It opens the metadata store itself — the same --data-dir, --db, --config and
HANGAR_* settings as "hangar server", and the same key-encryption key — so it
needs no running server and no token, only access to the database on this
machine. Every change is recorded in the audit log with the actor
"local:<user>". The server may keep running.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadServerConfig(cmd, getenv)
			if err != nil {
				return err
			}
			path := filepath.Join(cfg.DataDir, ownerTokenFile)
			n, err := resetOwnerToken(cmd.Context(), cfg, path)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %d owner token(s); new owner token written to %s\n", n, path)
			return nil
		},
	}
	bindServerFlags(reset.Flags())
	cmd.AddCommand(reset)
	return cmd
}

// resetOwnerToken opens the store of cfg directly and gives the owner a
// fresh token, returning how many tokens it revoked.
func resetOwnerToken(ctx context.Context, cfg *serverConfig, path string) (revoked int, err error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return 0, fmt.Errorf("create data dir: %w", err)
	}
	sealer, err := openSealer(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return 0, err
	}
	db := sqlstore.New(cfg.DB)
	db.Sealer = sealer
	db.AuditKey = sealer.DeriveKey(hangar.AuditKeyPurpose)
	if err := db.Open(ctx); err != nil {
		return 0, fmt.Errorf("open metadata store: %w", err)
	}
	defer db.Close()
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	ctx = hangar.WithActor(ctx, hangar.Actor{IdentityID: "local", Name: "local:" + name})
	ids, roles := sqlstore.NewIdentityService(db), sqlstore.NewRoleService(db)

	id, err := ids.IdentityByName(ctx, ownerName)
	if hangar.IsCode(err, hangar.ENOTFOUND) {
		id = &hangar.Identity{Name: ownerName, Kind: hangar.KindUser}
		err = ids.CreateIdentity(ctx, id)
	}
	if err != nil {
		return 0, fmt.Errorf("owner identity: %w", err)
	}
	now := time.Now()
	opt := hangar.ListOptions{MaxResults: hangar.MaxMaxResults}
	for {
		page, err := ids.ListTokens(ctx, hangar.TokenFilter{}, opt)
		if err != nil {
			return revoked, fmt.Errorf("list tokens: %w", err)
		}
		for _, t := range page.Items {
			if t.IdentityID == id.ID && t.Active(now) {
				if err := ids.RevokeToken(ctx, t.ID); err != nil && !hangar.IsCode(err, hangar.ECONFLICT) {
					return revoked, fmt.Errorf("revoke owner token %s: %w", t.ID, err)
				}
				revoked++
			}
		}
		if page.NextPageToken == "" {
			break
		}
		opt.PageToken = page.NextPageToken
	}
	// The owner holds exactly the server-wide Owner role, which covers
	// anything else it may have been given.
	held, err := ids.RoleAssignmentsOf(ctx, id.ID)
	if err != nil {
		return revoked, err
	}
	hasOwner := false
	for _, a := range held {
		if a.Role == hangar.RoleOwner && a.Workspace == "" {
			hasOwner = true
			continue
		}
		if err := roles.RemoveRoleAssignment(ctx, a.ID); err != nil {
			return revoked, fmt.Errorf("remove role assignment %s of the owner: %w", a.ID, err)
		}
	}
	if !hasOwner && len(held) > 0 {
		a := &hangar.RoleAssignment{IdentityName: ownerName, Role: hangar.RoleOwner}
		if err := roles.AssignRole(ctx, a); err != nil {
			return revoked, fmt.Errorf("give the owner the Owner role: %w", err)
		}
	}
	secret, hash, prefix, err := hangar.NewTokenSecret()
	if err != nil {
		return revoked, err
	}
	if _, err := ids.CreateToken(ctx, &hangar.TokenRequest{Name: ownerName, Role: hangar.RoleOwner}, hash, prefix); err != nil {
		return revoked, fmt.Errorf("create owner token: %w", err)
	}
	if err := writeFileAtomic(path, []byte(secret+"\n"), 0o600); err != nil {
		return revoked, fmt.Errorf("write owner token: %w", err)
	}
	return revoked, nil
}
