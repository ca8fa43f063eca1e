#!/usr/bin/env bash
# Makes third_party/wazero again from wazero VERSION (default: the one it
# holds) as the Go module proxy serves it, with RCC's patch applied: the
# non-test Go files of the packages the main module builds for linux and
# darwin on amd64 and arm64. See third_party/wazero/PATCHES.md.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-v1.12.0}
dst=third_party/wazero
src=$(go mod download -json "github.com/tetratelabs/wazero@$version" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { echo "update-wazero: no source for wazero $version" >&2; exit 1; }
pkgs=$(for os in linux darwin; do for arch in amd64 arm64; do
	GOOS=$os GOARCH=$arch go list -e -deps ./... 2>/dev/null; done; done |
	sed -n 's|^github.com/tetratelabs/wazero||p' | sort -u)
keep=$(mktemp -d)
cp "$dst/PATCHES.md" "$keep/"
rm -rf "$dst"
mkdir -p "$dst"
for p in $pkgs ""; do
	mkdir -p "$dst$p"
	find "$src$p" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' \) ! -name '*_test.go' -exec cp {} "$dst$p/" \;
done
cp "$src/go.mod" "$src/go.sum" "$src/LICENSE" "$src/NOTICE" "$dst/"
chmod -R u+w "$dst"
cp "$keep/PATCHES.md" "$dst/"
rm -rf "$keep"
(cd "$dst" && patch -p1 --quiet < ../wazero-rcc.patch)
go build ./...
echo "update-wazero: third_party/wazero is wazero $version with RCC's patch"
