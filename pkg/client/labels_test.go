package client

import (
	"maps"
	"strings"
	"testing"
)

func TestParseLabels(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []string
		want    map[string]string
		wantErr string
	}{
		{"none", nil, nil, ""},
		{"pairs", []string{"region=eu", "tier=", "a=b=c"}, map[string]string{"region": "eu", "tier": "", "a": "b=c"}, ""},
		{"later wins", []string{"k=1", "k=2"}, map[string]string{"k": "2"}, ""},
		{"no equals", []string{"region"}, nil, `label "region"`},
		{"empty key", []string{"=eu"}, nil, `label "=eu"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLabels(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseLabels(%q) error = %v, want one naming %s", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil || !maps.Equal(got, tc.want) {
				t.Fatalf("ParseLabels(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}
