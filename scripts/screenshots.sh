#!/usr/bin/env bash
# Makes docs/screenshots/*.png: the dashboard with a simulated device running, in English and
# Bengali, light and dark palettes (Fusion), offscreen. Needs a build (default build-dash):
#   scripts/screenshots.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-dash}
out=docs/screenshots
mkdir -p "$out"
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n' "$port" > "$tmp/mosquitto.conf"
mosquitto -c "$tmp/mosquitto.conf" >"$tmp/mosquitto.log" 2>&1 & pids+=($!)
sleep 0.5
"$build/device/nightlight-device" --id living-room --host 127.0.0.1 --port "$port" \
    --interval-ms 100 --simulated-period-ms 16000 --sensor simulated 2>"$tmp/device.log" & pids+=($!)
"$build/device/nightlight-device" --id porch --host 127.0.0.1 --port "$port" \
    --interval-ms 500 --sensor simulated 2>/dev/null & pids+=($!)

export QT_QPA_PLATFORM=offscreen
for lang in en bn; do
    for palette in light dark; do
        "$build/dashboard/nightlight-dashboard" --host 127.0.0.1 --port "$port" --id living-room \
            --lang "$lang" --palette "$palette" --database "$tmp/$lang-$palette.sqlite" \
            --settings "$tmp/$lang-$palette.ini" \
            --screenshot "$out/dashboard-$lang-$palette.png" 2>/dev/null &
        shots+=($!)
    done
done
for s in "${shots[@]}"; do wait "$s"; done
ls -l "$out"
