#!/usr/bin/env bash
# Chart core benchmark (issue #5): builds bench_lightchart with the `release` preset
# (RelWithDebInfo, -O2) and runs it offscreen; prints a markdown table (docs/chart.md).
#   scripts/bench-chart.sh                 1 million points, 300 frames per row
#   scripts/bench-chart.sh --points 100000 --frames 1000 --png /tmp/chart.png
# NIGHTLIGHT_BENCH_BUILD_DIR=dir uses another build directory than the preset's build/release.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/release-build.sh
release_build bench_lightchart
echo
QT_QPA_PLATFORM=offscreen "$build/tests/bench_lightchart" "$@"
