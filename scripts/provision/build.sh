#!/usr/bin/env bash
# build.sh SRC OUT — build custodes from the source tree SRC into OUT, on a
# machine that has no usable binary (common.sh's install_binary calls it
# when the host built none: no `make build` on a Linux host of the
# machines' architecture, no `make release`).
#
# Go: a `go` on PATH is used when it is at least the version go.mod asks
# for. Otherwise the release go.mod names (its toolchain line, else its go
# line; CUSTODES_GO_VERSION overrides) is downloaded from go.dev into
# /usr/local/go-VERSION and checked against the SHA-256 published beside
# it. Debian's own golang packages are older than the Go this module needs
# (bookworm 1.19, trixie 1.24), so they cannot build it. Modules come from
# GOPROXY (proxy.golang.org by default) unless SRC has a vendor/ directory.
# Both need the machine to reach the internet; where it cannot, build on
# the host instead (make build, or make release on a non-Linux host).
set -euo pipefail

src=${1:?usage: build.sh SRC OUT}
out=${2:?usage: build.sh SRC OUT}
log() { echo "build: $*"; }
die() { echo "build: $*" >&2; exit 1; }
case $out in /*) ;; *) out=$PWD/$out ;; esac

[ -f "$src/go.mod" ] || die "$src/go.mod not found: is the source tree synced there?"
want=${CUSTODES_GO_VERSION:-$(sed -n 's/^toolchain go\([0-9.]*\).*/\1/p' "$src/go.mod")}
[ -n "$want" ] || want=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$src/go.mod")
[ -n "$want" ] || die "no go line in $src/go.mod"
# A release is named X.Y.Z since Go 1.21 ("go 1.26" is 1.26.0).
case $want in *.*.*) ;; *) want=$want.0 ;; esac

# newer_or_equal A B: version A >= version B.
newer_or_equal() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

go=""
if command -v go >/dev/null; then
  have=$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null | sed 's/^go//') || have=""
  if [ -n "$have" ] && newer_or_equal "$have" "$want"; then
    go=$(command -v go)
    log "using $go (go$have)"
  else
    log "the go on PATH is go${have:-?}, older than go$want: not used"
  fi
fi

if [ -z "$go" ]; then
  case $(uname -m) in
    x86_64|amd64) arch=amd64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) die "no Go release for $(uname -m) known here" ;;
  esac
  root=/usr/local/go-$want
  if [ ! -x "$root/bin/go" ]; then
    command -v curl >/dev/null || die "curl is needed to download Go"
    tarball=go$want.linux-$arch.tar.gz
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    log "downloading $tarball from go.dev"
    curl -fsSL --retry 3 -o "$tmp/$tarball" "https://dl.google.com/go/$tarball" ||
      die "cannot download https://dl.google.com/go/$tarball (no internet in the machine? build on the host: make build)"
    sum=${CUSTODES_GO_SHA256:-$(curl -fsSL --retry 3 "https://dl.google.com/go/$tarball.sha256")} ||
      die "cannot download the SHA-256 of $tarball"
    echo "$sum  $tmp/$tarball" | sha256sum -c --quiet - || die "$tarball does not match its SHA-256 $sum"
    mkdir -p "$tmp/x"
    tar -C "$tmp/x" -xzf "$tmp/$tarball"
    rm -rf "$root"
    mv "$tmp/x/go" "$root"
  fi
  go=$root/bin/go
fi

log "building $out from $src"
mkdir -p "$(dirname "$out")"
# A static binary, as make release builds it; the build cache and modules
# stay in this user's cache between provisionings.
(cd "$src" && GOTOOLCHAIN=local CGO_ENABLED=0 "$go" build -trimpath -o "$out" ./cmd/custodes)
log "built $out ($("$out" version))"
