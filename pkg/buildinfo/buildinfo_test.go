package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestRead(t *testing.T) {
	vcs := func(rev, modified string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"},
				Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}}, true
		}
	}
	tests := []struct {
		name                string
		ldVersion, ldCommit string
		build               func() (*debug.BuildInfo, bool)
		want                Info
		short               string
	}{
		{"work tree", "", "", vcs("0123456789abcdef", "false"),
			Info{Version: "dev", Commit: "0123456789abcdef", GoVersion: "go1.26.0"}, "0123456789ab"},
		{"dirty work tree", "", "", vcs("0123456789abcdef", "true"),
			Info{Version: "dev", Commit: "0123456789abcdef", Modified: true, GoVersion: "go1.26.0"}, "0123456789ab-dirty"},
		{"ldflags win", "v1.2.3", "feed", vcs("0123456789abcdef", "false"),
			Info{Version: "v1.2.3", Commit: "feed", GoVersion: "go1.26.0"}, "v1.2.3"},
		{"go install", "", "", func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v0.4.0"}}, true
		}, Info{Version: "v0.4.0", GoVersion: "go1.26.1"}, "v0.4.0"},
		{"no build info", "", "", func() (*debug.BuildInfo, bool) { return nil, false }, Info{Version: "dev"}, "dev"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := read(tc.ldVersion, tc.ldCommit, tc.build)
			got.Platform = ""
			if tc.name == "no build info" {
				got.GoVersion = ""
			}
			if got != tc.want {
				t.Errorf("read = %+v, want %+v", got, tc.want)
			}
			if s := got.Short(); s != tc.short {
				t.Errorf("Short = %q, want %q", s, tc.short)
			}
		})
	}
}
