#!/usr/bin/env bash
# Builds the two Debian packages (issue #8) for this machine's architecture and copies them to
# OUTDIR: nightlight-device_<version>_<arch>.deb and nightlight-dashboard_<version>_<arch>.deb.
# Installs the dependencies first, then a Release build (no tests) in $NIGHTLIGHT_PKG_BUILD_DIR
# (default build/pkg), then `cpack -G DEB`. Runs as root or with sudo, on amd64 and arm64 alike.
#   scripts/make-packages.sh OUTDIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: scripts/make-packages.sh OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
build=${NIGHTLIGHT_PKG_BUILD_DIR:-build/pkg}

bash scripts/install-deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNIGHTLIGHT_WERROR=ON \
    -DNIGHTLIGHT_BUILD_TESTS=OFF
cmake --build "$build" -j"${NIGHTLIGHT_JOBS:-2}"

# Only this run's packages: an old version's .deb must not be copied along.
rm -f "$build"/nightlight-*.deb
(cd "$build" && cpack -G DEB)

debs=("$build"/nightlight-*.deb)
[ -e "${debs[0]}" ] || { echo "make-packages: cpack made no .deb" >&2; exit 1; }
for deb in "${debs[@]}"; do
    cp "$deb" "$out/"
    echo
    echo "$out/$(basename "$deb")"
    dpkg-deb -f "$deb" Package Version Architecture Depends
done
