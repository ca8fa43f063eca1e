#!/usr/bin/env bash
# setup-rust.sh: a Rust toolchain that builds wasm32-wasip1 games offline,
# from Debian 12's packages alone (no Rust toolchain server is needed):
# rustc-web and cargo-web 1.96 (bookworm-security), the standard library's
# source with its vendored crates (rust-web-src, so that cargo builds std
# for the target with -Zbuild-std), LLVM's wasm-ld and wasi-libc. The
# packages are extracted into a private root, build/rust/root, so nothing
# clashes with a rustup installation; cargo-web's libgit2 comes along.
# pkg/gamebuild (and rccctl game build --rust-root) use the root.
# Idempotent: quick when the root is complete.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/build/rust"
R="$dest/root"
stamp="$R/.complete"
PKGS="rustc-web cargo-web rust-web-src libstd-rust-web-dev libstd-rust-web-1.96 rust-web-llvm
  libllvm22 lld-22 liblld-22 wasi-libc libgit2-1.5 libhttp-parser2.9 libmbedcrypto7 libmbedtls14 libmbedx509-1"
# cargo's other libraries are ordinary ones, installed system-wide.
SYSTEM="libcurl4 libssh2-1 libsqlite3-0 gcc libc6-dev"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo

[ -f "$stamp" ] && exit 0

missing=""
for p in $SYSTEM; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup-rust: installing$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

echo "setup-rust: extracting Debian's rustc-web 1.96 toolchain into build/rust/root"
rm -rf "$dest/debs" "$R"
mkdir -p "$dest/debs" "$R"
cd "$dest/debs"
# apt-get download writes into the current directory as the _apt user
# when it can; the directory is root's, so let apt say so quietly.
if ! apt-get download -qq $PKGS 2>/dev/null; then
  $SUDO apt-get update -qq
  apt-get download -qq $PKGS
fi
for d in *.deb; do dpkg -x "$d" "$R"; done
export LD_LIBRARY_PATH="$R/usr/lib/x86_64-linux-gnu:$(echo "$R"/usr/lib/llvm-*/lib | tr ' ' ':')"
"$R/usr/bin/rustc" --version
"$R/usr/bin/cargo" --version
rm -rf "$dest/debs"
touch "$stamp"
