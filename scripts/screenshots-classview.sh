#!/usr/bin/env bash
# Makes docs/screenshots/classview-<N>-<lang>-<palette>.png (#10 item 5): the class view of a
# real run, 30 and 1,000 devices, English and Bengali, light and dark (Fusion), offscreen. A
# private mosquitto, nightlight-fleetsim's devices (a tenth killed uncleanly: offline), one lesson
# device (telemetry only, mosquitto_pub) and two nightlight-device processes sharing one id. A
# first dashboard collects 45 s of readings into a history file; each screenshot's dashboard
# starts from a copy of it, so the sparklines show most of the 1-minute window.
#   scripts/screenshots-classview.sh [build-dir] [counts...]     (default build/dev, 30 1000)
# The build needs nightlight-dashboard, nightlight-device and nightlight-fleetsim.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/dev}
shift || true
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(30 1000)
out=docs/screenshots
mkdir -p "$out"
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
export QT_QPA_PLATFORM=offscreen

for count in "${counts[@]}"; do
    pids=()
    rm -f "$tmp"/*.sqlite* "$tmp"/*.ini
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    printf 'listener %s 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\nmax_queued_messages 100000\n' \
        "$port" > "$tmp/mosquitto.conf"
    mosquitto -c "$tmp/mosquitto.conf" >"$tmp/mosquitto.log" 2>&1 & pids+=($!)
    sleep 0.5
    # Ids d01..d30 or d0001..d1000; a tenth killed after 20 s (their Will: offline).
    "$build/tools/fleetsim/nightlight-fleetsim" --port "$port" --count "$count" --rate 1 \
        --seconds 600 --prefix d --kill-share 0.1 --kill-at 20 >"$tmp/fleet.log" 2>&1 & pids+=($!)
    # A lesson device: telemetry only, never a state or status.
    ( while true; do
          mosquitto_pub -p "$port" -t lesson-desk/telemetry -m "{\"light\": $((RANDOM % 400 + 100))}"
          sleep 1
      done ) & pids+=($!)
    # Two devices started with one id (#9): their states alternate between two instance tokens.
    for twin in 1 2; do
        "$build/device/nightlight-device" --id twin-desk --host 127.0.0.1 --port "$port" \
            --interval-ms 1000 --sensor simulated 2>/dev/null & pids+=($!)
    done

    geometry=1600x1000
    [ "$count" -le 100 ] || geometry=1920x1080
    first=d$(printf "%0${#count}d" 1)
    # The screenshots' current device is the lesson device: it never sends a state, so --screenshot
    # waits its full 30 s (the history alone would satisfy it at once): the live statuses, the
    # shared id and 75 s of readings are in.
    # Collect 45 s of history; SIGTERM closes the dashboard as Quit does (the store flushed).
    "$build/dashboard/nightlight-dashboard" --host 127.0.0.1 --port "$port" --id "$first" \
        --view class --database "$tmp/history.sqlite" --settings "$tmp/warm.ini" \
        >/dev/null 2>&1 &
    warm=$!
    sleep 45
    kill -TERM "$warm"
    wait "$warm" || true
    shots=()
    for lang in en bn; do
        for palette in light dark; do
            cp "$tmp/history.sqlite" "$tmp/$lang-$palette.sqlite"
            timeout 120 "$build/dashboard/nightlight-dashboard" --host 127.0.0.1 --port "$port" \
                --id lesson-desk --view class --lang "$lang" --palette "$palette" \
                --database "$tmp/$lang-$palette.sqlite" --settings "$tmp/$lang-$palette.ini" \
                --screenshot "$out/classview-$count-$lang-$palette.png" \
                -qwindowgeometry "$geometry" 2>/dev/null &
            shots+=($!)
        done
    done
    for s in "${shots[@]}"; do wait "$s"; done
    echo "fleet of $count:"; tail -n 3 "$tmp/fleet.log"
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
done
ls -l "$out"/classview-*.png
