#!/usr/bin/env bash
# Class view benchmark (#10): builds bench_classview with the `release` preset (RelWithDebInfo,
# -O2) and runs it offscreen; prints a markdown table (docs/dashboard.md "Class view").
#   scripts/bench-classview.sh                 100 devices, 300 frames per row
#   scripts/bench-classview.sh --devices 1000 --frames 100 --png /tmp/classview.png
# NIGHTLIGHT_BENCH_BUILD_DIR=dir uses another build directory than the preset's build/release.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/release-build.sh
release_build bench_classview
echo
QT_QPA_PLATFORM=offscreen "$build/tests/bench_classview" "$@"
