package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// version, commit and modified are set at link time by the Makefile:
//
//	-ldflags "-X github.com/rcc-games/rcc/pkg/buildinfo.version=v1.2.3 -X github.com/rcc-games/rcc/pkg/buildinfo.commit=abc123 -X github.com/rcc-games/rcc/pkg/buildinfo.modified=true"
//
// Empty, they come from the build information Go embeds.
var (
	version  string
	commit   string
	modified string
)

// Info is one binary's build.
type Info struct {
	// Version is the release (v1.2.3), the module version Go recorded, or
	// "dev" for a build from a work tree.
	Version string `json:"version"`
	// Commit is the VCS revision, "" when unknown.
	Commit string `json:"commit"`
	// Modified is true when the work tree had uncommitted changes.
	Modified bool `json:"modified"`
	// GoVersion is the toolchain that built the binary (go1.26.0).
	GoVersion string `json:"go_version"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
}

// Read returns this binary's build.
func Read() Info {
	in := read(version, commit, debug.ReadBuildInfo)
	if modified == "true" {
		in.Modified = true
	}
	return in
}

func read(ldVersion, ldCommit string, readBuild func() (*debug.BuildInfo, bool)) Info {
	in := Info{Version: ldVersion, Commit: ldCommit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := readBuild(); ok {
		in.GoVersion = bi.GoVersion
		if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			in.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if in.Commit == "" {
					in.Commit = s.Value
				}
			case "vcs.modified":
				in.Modified = s.Value == "true"
			}
		}
	}
	if in.Version == "" {
		in.Version = "dev"
	}
	return in
}

// Short is the build in one word for people and for peers (an executor
// reports it to its coordinator): the version, or for a dev build the
// commit's first 12 digits, "-dirty" when modified.
func (in Info) Short() string {
	if in.Version != "dev" || in.Commit == "" {
		return in.Version
	}
	s := in.Commit[:min(12, len(in.Commit))]
	if in.Modified {
		s += "-dirty"
	}
	return s
}
