package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The deny-list of revoked role tokens.

// Revocation is one revoked token: the coordinators refuse it until
// ExpiresAt, after which it is refused as expired anyway.
type Revocation struct {
	// ID is the token's "jti".
	ID string
	// Subject is the token's "sub", when the revoker knew it.
	Subject string
	// Reason says why, for the audit trail.
	Reason string
	// ExpiresAt is when the token expires; a zero time keeps the entry for
	// MaxRevocationAge.
	ExpiresAt time.Time
	// RevokedAt is when it was revoked.
	RevokedAt time.Time
}

// MaxRevocationAge is how long a revocation whose token's expiry is unknown
// is kept: longer than any role token lives.
const MaxRevocationAge = 400 * 24 * time.Hour

func (s *db) RevokeToken(ctx context.Context, r Revocation) error {
	if r.ID == "" {
		return errors.New("revoke token: empty token id")
	}
	if r.ExpiresAt.IsZero() {
		r.ExpiresAt = r.RevokedAt.Add(MaxRevocationAge)
	}
	err := s.tx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `DELETE FROM revoked_tokens WHERE expires_at < ?`, ms(r.RevokedAt)); err != nil {
			return err
		}
		_, err := c.exec(ctx, `INSERT INTO revoked_tokens (id, subject, reason, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, r.ID, r.Subject, r.Reason, ms(r.ExpiresAt), ms(r.RevokedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", r.ID, err)
	}
	return nil
}

func (s *db) ListRevoked(ctx context.Context, now time.Time) ([]Revocation, error) {
	r, err := s.e.query(ctx, `SELECT id, subject, reason, expires_at, revoked_at FROM revoked_tokens WHERE expires_at >= ? ORDER BY revoked_at, id`, ms(now))
	if err != nil {
		return nil, fmt.Errorf("list revoked tokens: %w", s.e.translate(err))
	}
	defer r.Close()
	out := []Revocation{}
	for r.Next() {
		var x Revocation
		var exp, at int64
		if err := r.Scan(&x.ID, &x.Subject, &x.Reason, &exp, &at); err != nil {
			return nil, fmt.Errorf("list revoked tokens: %w", s.e.translate(err))
		}
		x.ExpiresAt, x.RevokedAt = fromMs(exp), fromMs(at)
		out = append(out, x)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("list revoked tokens: %w", s.e.translate(err))
	}
	return out, nil
}
