package auth

import (
	"errors"
	"fmt"
	"time"
)

// Action is what a grant allows: one operation on one instance at one
// executor.
type Action string

// ActionInputLog allows downloading an instance's input log from its
// executor (GET /replays/{instance}).
const ActionInputLog Action = "input-log"

// DefaultGrantTTL is how long a grant is valid.
const DefaultGrantTTL = time.Minute

// kindGrant is the "knd" of a grant: neither a role token nor a ticket, so
// an executor that receives one learns nothing it can use against the
// coordinator.
const kindGrant = "grant"

// GrantRequest says what a grant allows.
type GrantRequest struct {
	// Subject is who asked for it (the admin token's subject), for logs.
	Subject string
	// Action is the one operation allowed.
	Action Action
	// InstanceID and ExecutorID are the one instance, at the one executor.
	InstanceID, ExecutorID string
	// TTL is its lifetime: DefaultGrantTTL if zero, at most MaxTicketTTL.
	TTL time.Duration
}

// Grant is the verified content of a grant.
type Grant struct {
	Subject                string
	Action                 Action
	InstanceID, ExecutorID string
	ID                     string
	ExpiresAt              time.Time
}

// Grant signs a short-lived, single-use token allowing req.Action on one
// instance at one executor: what an operator's tool presents to an
// executor instead of its own admin token.
func (i *Issuer) Grant(req GrantRequest) (Token, Grant, error) {
	switch {
	case req.Subject == "":
		return "", Grant{}, errors.New("issue grant: empty subject")
	case req.Action == "":
		return "", Grant{}, errors.New("issue grant: empty action")
	case req.InstanceID == "" || req.ExecutorID == "":
		return "", Grant{}, errors.New("issue grant: empty instance or executor id")
	}
	ttl := req.TTL
	if ttl == 0 {
		ttl = DefaultGrantTTL
	}
	if ttl < 0 || ttl > MaxTicketTTL {
		return "", Grant{}, fmt.Errorf("issue grant: ttl %v outside (0, %v]", ttl, MaxTicketTTL)
	}
	wc := i.registered(req.Subject, ttl)
	wc.Kind = kindGrant
	wc.Action = req.Action
	wc.Instance = req.InstanceID
	wc.Executor = req.ExecutorID
	tok, err := i.sign(wc)
	if err != nil {
		return "", Grant{}, fmt.Errorf("issue grant: %w", err)
	}
	return tok, grantOf(wc), nil
}

// VerifyGrant checks a grant presented to executor executorID for action
// on instance instanceID, and spends it: it is accepted once. Role tokens
// and tickets are refused with [ErrNotGrant].
func (v *Verifier) VerifyGrant(token, executorID, instanceID string, action Action) (*Grant, error) {
	if executorID == "" || instanceID == "" || action == "" {
		return nil, errors.New("verify grant: empty executor, instance or action to check against")
	}
	wc, err := v.parse(token)
	if err != nil {
		return nil, fmt.Errorf("verify grant: %w", err)
	}
	if wc.Kind != kindGrant {
		return nil, fmt.Errorf("verify grant: %w", ErrNotGrant)
	}
	// Spent whatever the refusal below, as tickets are.
	if err := v.spent.Spend(wc.ID, wc.ExpiresAt.Add(v.opts.Leeway), v.opts.Now()); err != nil {
		return nil, fmt.Errorf("verify grant: %w", err)
	}
	switch {
	case wc.Action != action:
		return nil, fmt.Errorf("verify grant: %w: allows %q, not %q", ErrWrongAction, wc.Action, action)
	case wc.Executor != executorID:
		return nil, fmt.Errorf("verify grant: %w: issued for %q", ErrWrongExecutor, wc.Executor)
	case wc.Instance != instanceID:
		return nil, fmt.Errorf("verify grant: %w: issued for %q", ErrWrongInstance, wc.Instance)
	}
	g := grantOf(wc)
	return &g, nil
}

func grantOf(wc *wireClaims) Grant {
	return Grant{Subject: wc.Subject, Action: wc.Action, InstanceID: wc.Instance, ExecutorID: wc.Executor, ID: wc.ID,
		ExpiresAt: timeOf(wc.ExpiresAt)}
}
