#!/usr/bin/env bash
# Ingest benchmark of the dashboard pipeline beside a bare libmosquitto subscriber; prints a
# markdown table (numbers recorded in docs/dashboard.md).
#   scripts/bench-ingest.sh [build-dir] [seconds-per-step] [rates...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-dash}
shift || true
if [ ! -d "$build" ]; then
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" --target bench_ingest >/dev/null
QT_QPA_PLATFORM=offscreen "$build/tests/bench_ingest" "$@"
