package auth

import (
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the domain of the google.rpc.ErrorInfo detail that every
// refusal of the [Interceptor] carries, beside its gRPC code.
const ErrorDomain = "rcc.auth"

// Reasons a token is refused: the ErrorInfo's reason, one per refusal, so
// clients and tests tell them apart without parsing messages.
const (
	ReasonMissing      = "TOKEN_MISSING"
	ReasonMalformed    = "TOKEN_MALFORMED"
	ReasonForged       = "TOKEN_FORGED"
	ReasonUnknownKey   = "UNKNOWN_KEY"
	ReasonExpired      = "TOKEN_EXPIRED"
	ReasonNotYetValid  = "TOKEN_NOT_YET_VALID"
	ReasonWrongIssuer  = "WRONG_ISSUER"
	ReasonWrongAud     = "WRONG_AUDIENCE"
	ReasonMissingClaim = "MISSING_CLAIM"
	ReasonUnknownRole  = "UNKNOWN_ROLE"
	ReasonNotRoleToken = "NOT_ROLE_TOKEN"
	ReasonRevoked      = "TOKEN_REVOKED"
	ReasonRole         = "ROLE_NOT_ALLOWED"
	ReasonOtherSubject = "OTHER_SUBJECT"
	ReasonRateLimited  = "RATE_LIMITED"
)

// ReasonFor is the refusal reason of a verification error.
func ReasonFor(err error) string {
	for _, r := range []struct {
		err    error
		reason string
	}{
		{ErrRevoked, ReasonRevoked},
		{ErrMissingToken, ReasonMissing},
		{ErrMalformedToken, ReasonMalformed},
		{ErrUnsupportedAlgorithm, ReasonForged},
		{ErrBadSignature, ReasonForged},
		{ErrUnknownKey, ReasonUnknownKey},
		{ErrExpired, ReasonExpired},
		{ErrNotYetValid, ReasonNotYetValid},
		{ErrWrongIssuer, ReasonWrongIssuer},
		{ErrWrongAudience, ReasonWrongAud},
		{ErrMissingClaim, ReasonMissingClaim},
		{ErrUnknownRole, ReasonUnknownRole},
		{ErrNotRoleToken, ReasonNotRoleToken},
	} {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return ReasonMalformed
}

// StatusError is a gRPC status error of code whose ErrorInfo detail says
// reason.
func StatusError(code codes.Code, reason, msg string) error {
	st := status.New(code, msg)
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain}); err == nil {
		st = d
	}
	return st.Err()
}

// RefusalReason returns the reason of an auth refusal received from a
// server (StatusError), "" when err carries none.
func RefusalReason(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.Domain == ErrorDomain {
			return info.Reason
		}
	}
	return ""
}
