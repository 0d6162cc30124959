#!/usr/bin/env bash
# Benchmarks nightlight-device (issue #4) and prints a markdown table: command -> state latency
# beside a bare libmosquitto echo client, CPU per 1,000 ticks at 50 ms beside a bare C device
# (tools/baredevice, #12), VmRSS and private memory, start -> first telemetry. Builds an optimised
# nightlight-device, nightlight-baredevice and bench_device first.
#   scripts/bench-device.sh                       `release` preset (build/release)
#   BUILD_DIR=build-x scripts/bench-device.sh     any build dir, configured RelWithDebInfo
#   scripts/bench-device.sh --commands 1000 --ticks 1000 --starts 10   (the defaults)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${BUILD_DIR:-}" ]; then
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DNIGHTLIGHT_BUILD_DASHBOARD=OFF >/dev/null
    cmake --build "$BUILD_DIR" --target nightlight-device nightlight-baredevice bench_device -j"$(nproc)" >/dev/null
    build=$BUILD_DIR
else
    cmake --preset release >/dev/null
    cmake --build --preset release --target nightlight-device nightlight-baredevice bench_device -j"$(nproc)" >/dev/null
    build=build/release
fi

echo "nightlight-device benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs," \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(mosquitto -h | head -1)"
echo
"$build/tests/bench_device" "$@"
