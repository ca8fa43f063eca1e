package executor

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/rcc-games/rcc/pkg/auth"
)

// authorize checks the request's bearer token against the coordinator's
// key and its role against roles, answering 401 or 403 itself when it
// fails (what says what may be done with the token, what for).
func (ex *Executor) authorize(w http.ResponseWriter, r *http.Request, what string, roles ...auth.Role) (*auth.Claims, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" || ex.cfg.Verifier == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="rcc"`)
		http.Error(w, fmt.Sprintf("a token of role %s is required (Authorization: Bearer)", roles[0]), http.StatusUnauthorized)
		return nil, false
	}
	claims, err := ex.cfg.Verifier.Verify(token)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="rcc", error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return nil, false
	}
	if !slices.Contains(roles, claims.Role) {
		http.Error(w, fmt.Sprintf("role %q may not %s", claims.Role, what), http.StatusForbidden)
		return nil, false
	}
	return claims, true
}
