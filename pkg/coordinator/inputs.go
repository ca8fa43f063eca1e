package coordinator

import (
	"fmt"
	"regexp"
	"sort"
	"unicode"
	"unicode/utf8"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// The limits on what callers send, each enforced with InvalidArgument
// naming it; docs/operations.md ("Input limits") lists them.
const (
	// MaxLabels is how many labels one instance, executor or selector
	// carries at most.
	MaxLabels = 64
	// MaxLabelName is the longest label name (the part of a key after an
	// optional "prefix/") and the longest label value, as in Kubernetes.
	MaxLabelName = 63
	// MaxLabelPrefix is the longest label key prefix (a DNS subdomain).
	MaxLabelPrefix = 253
	// MaxParamsBytes bounds a spawn's game parameters, as JSON.
	MaxParamsBytes = 64 << 10
	// MaxDescriptionBytes bounds a game version's description.
	MaxDescriptionBytes = 1 << 10
	// MaxPlayerIDBytes bounds a player id (printable UTF-8).
	MaxPlayerIDBytes = 128
	// MaxReasonBytes bounds an operator's stop reason.
	MaxReasonBytes = 1 << 10
	// MaxExecutorFieldBytes bounds an executor's name, WebSocket URL and
	// version string.
	MaxExecutorFieldBytes = 1 << 10
)

// labelNameRE is a Kubernetes label name, and a non-empty label value:
// alphanumerics, with '-', '_' and '.' inside.
var labelNameRE = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)

// labelPrefixRE is a DNS subdomain: lowercase labels joined by dots.
var labelPrefixRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// checkLabels checks labels (what names them in the error: "labels",
// "selector") against the Kubernetes rules: at most MaxLabels; a key is an
// optional DNS-subdomain prefix of at most MaxLabelPrefix characters and
// "/", then a name of 1 to MaxLabelName alphanumerics with '-', '_' and '.'
// inside; a value is empty or such a name.
func checkLabels(what string, labels map[string]string) error {
	if len(labels) > MaxLabels {
		return invalid("%s: %d labels, the limit is %d", what, len(labels), MaxLabels)
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same error for the same request
	for _, k := range keys {
		if err := checkLabelKey(k); err != nil {
			return invalid("%s: key %s: %v", what, quoteShort(k), err)
		}
		if v := labels[k]; v != "" {
			if err := checkLabelName(v); err != nil {
				return invalid("%s: value of %s: %v", what, quoteShort(k), err)
			}
		}
	}
	return nil
}

func checkLabelKey(k string) error {
	name := k
	for i := len(k) - 1; i >= 0; i-- {
		if k[i] != '/' {
			continue
		}
		prefix := k[:i]
		name = k[i+1:]
		if len(prefix) > MaxLabelPrefix {
			return fmt.Errorf("prefix is %d characters, the limit is %d", len(prefix), MaxLabelPrefix)
		}
		if !labelPrefixRE.MatchString(prefix) {
			return fmt.Errorf("prefix must be a DNS subdomain (lowercase a-z, 0-9, '-' and '.')")
		}
		break
	}
	return checkLabelName(name)
}

func checkLabelName(s string) error {
	if n := utf8.RuneCountInString(s); n > MaxLabelName {
		return fmt.Errorf("%d characters, the limit is %d", n, MaxLabelName)
	}
	if !labelNameRE.MatchString(s) {
		return fmt.Errorf("use 1 to %d of A-Z, a-z, 0-9, '-', '_' and '.', starting and ending with a letter or digit", MaxLabelName)
	}
	return nil
}

// checkPlayerID checks a player id: 1 to MaxPlayerIDBytes bytes of
// printable UTF-8 (spaces allowed, control characters not).
func checkPlayerID(id string) error {
	if id == "" {
		return invalid("player_id is required")
	}
	if len(id) > MaxPlayerIDBytes {
		return invalid("player_id is %d bytes, the limit is %d", len(id), MaxPlayerIDBytes)
	}
	if !utf8.ValidString(id) {
		return invalid("player_id is not valid UTF-8")
	}
	for _, r := range id {
		if !unicode.IsPrint(r) {
			return invalid("player_id holds the non-printable character %U: use printable UTF-8", r)
		}
	}
	return nil
}

// checkText checks a free text field (what names it) against its limit in
// bytes: valid UTF-8 without control characters other than newline and
// tab.
func checkText(what, s string, limit int) error {
	if len(s) > limit {
		return invalid("%s is %d bytes, the limit is %d", what, len(s), limit)
	}
	if !utf8.ValidString(s) {
		return invalid("%s is not valid UTF-8", what)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return invalid("%s holds the control character %U", what, r)
		}
	}
	return nil
}

// checkParams checks a spawn's parameters, as the JSON they are stored as.
func checkParams(paramsJSON string) error {
	if len(paramsJSON) > MaxParamsBytes {
		return invalid("params are %d bytes of JSON, the limit is %d", len(paramsJSON), MaxParamsBytes)
	}
	return nil
}

// truncate cuts s to at most n bytes, at a character boundary: for what
// an executor reports, which is kept short rather than refused (a refused
// report would lose a state change).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// quoteShort quotes s for an error message, cut to its first 40 bytes.
func quoteShort(s string) string {
	const n = 40
	if len(s) <= n {
		return fmt.Sprintf("%q", s)
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:cut], len(s))
}

// checkRegistration checks an executor's registration: its labels and the
// length of its name, URL and version.
func checkRegistration(req *rccv1.RegisterExecutorRequest) error {
	for _, f := range []struct{ what, v string }{{"register: name", req.Name}, {"register: ws_url", req.WsUrl}, {"register: version", req.Version}} {
		if err := checkText(f.what, f.v, MaxExecutorFieldBytes); err != nil {
			return err
		}
	}
	return checkLabels("register: labels", req.Labels)
}
