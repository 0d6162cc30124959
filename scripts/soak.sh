#!/usr/bin/env bash
# Soak test (issue #9): a private mosquitto, nightlight-device and nightlight-dashboard (offscreen)
# for N minutes; the broker is restarted every S seconds; once per run a malformed flood, a
# command flood and a duplicate-id episode. Prints samples sent vs stored, commands applied, peak
# memory, log lines written, and exits 0 only if nothing was lost, nothing crashed, nothing leaked
# and the last command was applied. Not part of the test command. Details: docs/soak.md.
#   scripts/soak.sh [--minutes N] [--restart-every S] [--build DIR] [--out DIR] [--interval-ms MS]
#     --minutes N        length of the run (default 30)
#     --restart-every S  restart the broker every S seconds, 0 = never (default 60)
#     --build DIR        build directory holding device/ and dashboard/ (default build/dev)
#     --out DIR          where logs, the database and the CSV go; created, must be empty
#                        (default: a new mktemp directory); kept after the run
#     --interval-ms MS   the device's sampling interval (default 200)
# Exit status: 0 pass, 1 a check failed, 2 bad options or a missing tool or binary.
set -euo pipefail
export LC_ALL=C

repo=$(cd "$(dirname "$0")/.." && pwd)
minutes=30
restart_every=60
build="$repo/build/dev"
out=""
interval_ms=200

die_usage() { echo "soak.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) minutes=${2:-}; shift 2 || die_usage "--minutes needs a value" ;;
        --restart-every) restart_every=${2:-}; shift 2 || die_usage "--restart-every needs a value" ;;
        --build) build=${2:-}; shift 2 || die_usage "--build needs a value" ;;
        --out) out=${2:-}; shift 2 || die_usage "--out needs a value" ;;
        --interval-ms) interval_ms=${2:-}; shift 2 || die_usage "--interval-ms needs a value" ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die_usage "unknown option $1 (see --help)" ;;
    esac
done
[[ $minutes =~ ^[0-9]+$ ]] && [ "$minutes" -ge 1 ] || die_usage "--minutes must be a whole number >= 1"
[[ $restart_every =~ ^[0-9]+$ ]] || die_usage "--restart-every must be a whole number of seconds"
[ "$restart_every" -eq 0 ] || [ "$restart_every" -ge 5 ] \
    || die_usage "--restart-every must be 0 (never) or >= 5"
[[ $interval_ms =~ ^[0-9]+$ ]] && [ "$interval_ms" -ge 50 ] \
    || die_usage "--interval-ms must be a whole number >= 50"

if ! command -v sqlite3 >/dev/null; then
    echo "soak.sh: the sqlite3 command is missing: apt-get install sqlite3" >&2
    exit 2
fi
for tool in mosquitto mosquitto_pub mosquitto_sub; do
    command -v "$tool" >/dev/null || {
        echo "soak.sh: $tool is missing: apt-get install mosquitto mosquitto-clients" >&2
        exit 2
    }
done

build=$(cd "$build" 2>/dev/null && pwd) || die_usage "no build directory ${build}"
device_bin="$build/device/nightlight-device"
dashboard_bin="$build/dashboard/nightlight-dashboard"
for bin in "$device_bin" "$dashboard_bin"; do
    [ -x "$bin" ] || die_usage "$bin is missing: cmake --build <build> --target nightlight-device nightlight-dashboard"
done

if [ -z "$out" ]; then
    out=$(mktemp -d -t nightlight-soak.XXXXXX)
else
    mkdir -p "$out"
    [ -z "$(ls -A "$out")" ] || die_usage "--out $out is not empty"
    out=$(cd "$out" && pwd)
fi

# ---------------------------------------------------------------------------------------------
# Bookkeeping

id=soak1
client_id="$id-nightlight-device"
total=$((minutes * 60))
# Fractions that do not fall on a restart with the usual --restart-every (30, 60, 120 s).
mal_at=$((total * 22 / 100))  # malformed flood
cmd_at=$((total * 45 / 100))  # command flood
dup_at=$((total * 67 / 100))  # duplicate-id episode
dup_len=20
ref_t=60                      # the leak check's reference: RSS at the end of minute 1
[ "$total" -ge 120 ] || ref_t=$((total / 3))
mem_every=10
flood_count=2000
command_count=1000
final_threshold=555

broker_pid=""
device_pid=""
dashboard_pid=""
dup_pid=""
failures=()   # one line per failed check
crashes=()    # one line per unexpected exit
notes=()      # things worth knowing that are not failures
restarts=0
broker_restart_ms_max=0
t0=$(date +%s)
now_ms() { date +%s%3N; }
elapsed() { echo $(($(date +%s) - t0)); }
log() { printf '[%4ss] %s\n' "$(elapsed)" "$*"; }

# alive, stop_child (STOP_RC, STOP_MS)
source "$repo/scripts/children.sh"

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pid in "$dup_pid" "$device_pid" "$dashboard_pid" "$broker_pid"; do
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "$dup_pid" "$device_pid" "$dashboard_pid" "$broker_pid"; do
        [ -n "$pid" ] || continue
        for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "soak.sh: interrupted; everything stopped, logs in $out" >&2; exit 130' INT
trap 'echo "soak.sh: terminated; everything stopped, logs in $out" >&2; exit 143' TERM

# A free loopback port.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || true)
if [ -z "$port" ]; then
    for p in $(seq 18830 18999); do
        if ! ss -Hltn "sport = :$p" | grep -q .; then port=$p; break; fi
    done
fi
[ -n "$port" ] || { echo "soak.sh: no free loopback port" >&2; exit 2; }

listening() {
    if command -v ss >/dev/null; then
        ss -Hltn "sport = :$port" | grep -q .
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    fi
}

cat >"$out/mosquitto.conf" <<CONF
user $(id -un)
listener $port 127.0.0.1
allow_anonymous true
set_tcp_nodelay true
persistence true
persistence_location $out/
log_dest file $out/mosquitto.log
CONF

start_broker() {
    mosquitto -c "$out/mosquitto.conf" >>"$out/mosquitto.out" 2>&1 &
    broker_pid=$!
    local i=0
    until listening; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! alive "$broker_pid"; then
            echo "soak.sh: mosquitto did not start on 127.0.0.1:$port (see $out/mosquitto.out)" >&2
            exit 1
        fi
        sleep 0.1
    done
}

restart_broker() {
    local before after
    before=$(now_ms)
    stop_child "$broker_pid" 10
    [ "$STOP_RC" = 0 ] || crashes+=("broker: exit status $STOP_RC on SIGTERM at ${1}s")
    start_broker
    after=$(now_ms)
    restarts=$((restarts + 1))
    [ $((after - before)) -le "$broker_restart_ms_max" ] || broker_restart_ms_max=$((after - before))
    last_restart=$1
}

# The environment of every Qt process: a log pattern with time and level (QT_MESSAGE_PATTERN wins
# over the programs' own), and for the dashboard a home of its own, so no setting of the user's
# is read or written.
export QT_MESSAGE_PATTERN='%{time yyyy-MM-ddTHH:mm:ss.zzz} %{type} %{if-category}%{category}: %{endif}%{message}'
mkdir -p "$out/home" "$out/config" "$out/data" "$out/cache" "$out/runtime"
chmod 700 "$out/runtime"

start_device() { # log file
    "$device_bin" --host 127.0.0.1 --port "$port" --id "$id" --interval-ms "$interval_ms" \
        --verbose >"$1" 2>&1 &
}

mosq_pub() { mosquitto_pub -h 127.0.0.1 -p "$port" "$@"; }

# ---------------------------------------------------------------------------------------------
# Memory: VmRSS and VmHWM of each process every $mem_every s.

mem_csv="$out/memory.csv"
echo "t_s,process,pid,vmrss_kb,vmhwm_kb" >"$mem_csv"
sample_one() { # t name pid
    local rss hwm
    [ -n "$3" ] && [ -r "/proc/$3/status" ] || return 0
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$3/status" 2>/dev/null || true)
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$3/status" 2>/dev/null || true)
    [ -n "$rss" ] && [ -n "$hwm" ] || return 0
    echo "$1,$2,$3,$rss,$hwm" >>"$mem_csv"
}
sample_memory() {
    sample_one "$1" device "$device_pid"
    sample_one "$1" dashboard "$dashboard_pid"
    sample_one "$1" broker "$broker_pid"
    if [ -n "$dup_pid" ]; then sample_one "$1" device2 "$dup_pid"; fi
}

# A process that ended without being asked to is a crash, and ends the run.
check_alive() { # t
    local name pid rc
    for name in device dashboard broker device2; do
        case $name in
            device) pid=$device_pid ;;
            dashboard) pid=$dashboard_pid ;;
            broker) pid=$broker_pid ;;
            device2) pid=$dup_pid ;;
        esac
        [ -n "$pid" ] || continue
        alive "$pid" && continue
        rc=0
        wait "$pid" 2>/dev/null || rc=$?
        crashes+=("$name (pid $pid): ended by itself with status $rc at ${1}s")
        case $name in
            device) device_pid="" ;;
            dashboard) dashboard_pid="" ;;
            broker) broker_pid="" ;;
            device2) dup_pid="" ;;
        esac
        [ "$name" = device2 ] || return 1
    done
    return 0
}

# ---------------------------------------------------------------------------------------------
# Episodes

# Floods are sent at least 5 s after a broker restart, when both programs are back.
settle() { # t
    if [ -n "${last_restart:-}" ] && [ $(($1 - last_restart)) -lt 5 ]; then
        sleep $((5 - ($1 - last_restart)))
    fi
}

malformed_flood() {
    local i
    for i in $(seq 1 "$flood_count"); do
        case $((i % 4)) in
            0) echo "not json $i" ;;
            1) echo "{\"led_on\": $i}" ;;
            2) echo "{\"threshold\": \"$i\"}" ;;
            3) echo "[$i]" ;;
        esac
    done >"$out/flood-commands.txt"
    for i in $(seq 1 "$flood_count"); do
        case $((i % 4)) in
            0) echo "garbage $i" ;;
            1) echo "{\"light\": \"$i\"}" ;;
            2) echo "{\"light\": true, \"ts\": $i}" ;;
            3) echo "[$i]" ;;
        esac
    done >"$out/flood-telemetry.txt"
    mosq_pub -q 1 -t "$id/commands" -l <"$out/flood-commands.txt" \
        || failures+=("malformed flood: mosquitto_pub on $id/commands failed")
    mosq_pub -q 1 -t "$id/telemetry" -l <"$out/flood-telemetry.txt" \
        || failures+=("malformed flood: mosquitto_pub on $id/telemetry failed")
}

commands_sent=0
command_flood() {
    local i
    for i in $(seq 1 "$command_count"); do
        if [ $((i % 2)) = 1 ]; then echo '{"threshold": 300}'; else echo '{"threshold": 301}'; fi
    done >"$out/flood-valid-commands.txt"
    if mosq_pub -q 1 -t "$id/commands" -l <"$out/flood-valid-commands.txt"; then
        commands_sent=$((commands_sent + command_count))
    else
        failures+=("command flood: mosquitto_pub failed")
    fi
    if mosq_pub -q 1 -t "$id/commands" -m "{\"threshold\": $final_threshold}"; then
        commands_sent=$((commands_sent + 1))
    else
        failures+=("command flood: the final command could not be published")
    fi
}

dup_log_from=0
dup_connections=""
dup_takeovers=""
dup_rc=""
start_dup() { # t
    dup_log_from=$(wc -l <"$out/mosquitto.log")
    start_device "$out/device2.log"
    dup_pid=$!
    dup_until=$(($1 + dup_len))
}
stop_dup() {
    local pid=$dup_pid
    dup_pid=""
    stop_child "$pid" 5
    dup_rc=$STOP_RC
    [ "$dup_rc" = 0 ] || crashes+=("device2 (duplicate id): exit status $dup_rc on SIGTERM")
    dup_connections=$(tail -n +"$((dup_log_from + 1))" "$out/mosquitto.log" \
        | grep -c "New client connected .* as $client_id " || true)
    dup_takeovers=$(tail -n +"$((dup_log_from + 1))" "$out/mosquitto.log" \
        | grep -c "Client $client_id already connected" || true)
}

# ---------------------------------------------------------------------------------------------
# The run

echo "soak: $minutes min, broker restart every ${restart_every} s, device every ${interval_ms} ms"
echo "soak: build $build"
echo "soak: output in $out (broker on 127.0.0.1:$port)"

start_broker

# The dashboard first, so that it is subscribed before the first sample.
HOME="$out/home" XDG_CONFIG_HOME="$out/config" XDG_DATA_HOME="$out/data" \
    XDG_CACHE_HOME="$out/cache" XDG_RUNTIME_DIR="$out/runtime" QT_QPA_PLATFORM=offscreen \
    DBUS_SESSION_BUS_ADDRESS="unix:path=$out/runtime/no-bus" \
    "$dashboard_bin" --host 127.0.0.1 --port "$port" --database "$out/soak.db" --id "$id" \
    >"$out/dashboard.log" 2>&1 &
dashboard_pid=$!
for _ in $(seq 100); do
    grep -q "New client connected" "$out/mosquitto.log" 2>/dev/null && break
    alive "$dashboard_pid" || break
    sleep 0.1
done
sleep 1

t0=$(date +%s)
start_device "$out/device.log"
device_pid=$!
log "started: broker $broker_pid, dashboard $dashboard_pid, device $device_pid"

next_restart=$restart_every
next_mem=0
mal_done=""
cmd_done=""
dup_done=""
dup_until=0
while :; do
    t=$(elapsed)
    [ "$t" -lt "$total" ] || break
    if ! check_alive "$t"; then
        log "a process ended by itself: stopping the run early"
        break
    fi
    if [ "$t" -ge "$next_mem" ]; then
        sample_memory "$t"
        next_mem=$((next_mem + mem_every))
    fi
    if [ -n "$dup_pid" ] && [ "$t" -ge "$dup_until" ]; then
        stop_dup
        log "duplicate id: second device stopped; $dup_connections connections as $client_id in ${dup_len} s"
    fi
    if [ -z "$mal_done" ] && [ "$t" -ge "$mal_at" ]; then
        settle "$t"
        log "malformed flood: $flood_count on $id/commands, $flood_count on $id/telemetry"
        malformed_flood
        mal_done=1
    elif [ -z "$cmd_done" ] && [ "$t" -ge "$cmd_at" ]; then
        settle "$t"
        log "command flood: $command_count threshold commands, then {\"threshold\": $final_threshold}"
        command_flood
        cmd_done=1
    elif [ -z "$dup_done" ] && [ "$t" -ge "$dup_at" ]; then
        settle "$t"
        start_dup "$(elapsed)"
        log "duplicate id: second device $dup_pid with --id $id for ${dup_len} s"
        dup_done=1
    fi
    # No restart while the second device runs: its connection count is the broker's log alone.
    if [ "$restart_every" -gt 0 ] && [ "$t" -ge "$next_restart" ] && [ -z "$dup_pid" ]; then
        restart_broker "$t"
        log "broker restarted (pid $broker_pid)"
        next_restart=$((t + restart_every))
    fi
    sleep 1
done

# ---------------------------------------------------------------------------------------------
# The end: final state, then stop everything and count.

t_end=$(elapsed)
if [ -n "$dup_pid" ]; then stop_dup; fi
sample_memory "$t_end"

final_state=""
final_status=""
threshold_seen=""
if [ -n "$broker_pid" ]; then
    final_state=$(mosquitto_sub -h 127.0.0.1 -p "$port" -t "$id/state" -C 1 -W 5 2>/dev/null || true)
    final_status=$(mosquitto_sub -h 127.0.0.1 -p "$port" -t "$id/status" -C 1 -W 5 2>/dev/null || true)
    threshold_seen=$(grep -o '"threshold": *[0-9.eE+-]*' <<<"$final_state" | grep -o '[0-9.eE+-]*$' || true)
fi

device_stop_ms=$(now_ms)
device_rc="not running"
device_stop="-"
if [ -n "$device_pid" ]; then
    stop_child "$device_pid" 5
    device_rc=$STOP_RC
    device_stop="$STOP_MS ms"
    device_pid=""
fi
sleep 2 # the device's last samples reach the dashboard
dashboard_rc="not running"
dashboard_stop="-"
if [ -n "$dashboard_pid" ]; then
    stop_child "$dashboard_pid" 30
    dashboard_rc=$STOP_RC
    dashboard_stop="$STOP_MS ms"
    dashboard_pid=""
fi
broker_rc="not running"
if [ -n "$broker_pid" ]; then
    stop_child "$broker_pid" 10
    broker_rc=$STOP_RC
    broker_pid=""
fi
# ("not running": it ended by itself before, already counted as a crash)
for name in device dashboard broker; do
    eval "rc=\$${name}_rc"
    [ "$rc" = 0 ] || [ "$rc" = "not running" ] ||
        crashes+=("$name: exit status $rc on the final SIGTERM (expected 0)")
done

# Samples: every ts the device logged, taken before the last 5 s, must be in the database.
grep -o 'telemetry ts=[0-9-]*' "$out/device.log" | cut -d= -f2 | sort -u >"$out/sent-ts.txt" || true
sent_all=$(wc -l <"$out/sent-ts.txt")
cutoff=$((device_stop_ms - 5000))
awk -v c="$cutoff" '$1 + 0 <= c' "$out/sent-ts.txt" >"$out/sent-checked-ts.txt"
sent_checked=$(wc -l <"$out/sent-checked-ts.txt")
stored_total="?"
stored_of_device="?"
lost="?"
if [ -f "$out/soak.db" ] &&
    sqlite3 "$out/soak.db" "select distinct t from samples where device='$id'" \
        2>"$out/sqlite.err" | sort -u >"$out/stored-ts.txt"; then
    stored_total=$(sqlite3 "$out/soak.db" "select count(distinct t) from samples where device='$id'")
    stored_of_device=$(comm -12 "$out/sent-ts.txt" "$out/stored-ts.txt" | wc -l)
    comm -23 "$out/sent-checked-ts.txt" "$out/stored-ts.txt" >"$out/lost-ts.txt"
    lost=$(wc -l <"$out/lost-ts.txt")
else
    failures+=("samples: cannot read $out/soak.db ($(cat "$out/sqlite.err" 2>/dev/null || true))")
fi
if [ "$sent_all" -eq 0 ]; then
    samples_result="UNKNOWN"
    failures+=("samples: the device logged no 'telemetry ts=' line (needs the debug line and --verbose)")
elif [ "$lost" = "?" ]; then
    samples_result="FAIL"
elif [ "$lost" -gt 0 ]; then
    samples_result="FAIL"
    first=$(head -5 "$out/lost-ts.txt" | while read -r ts; do
        printf '%s (%s) ' "$ts" "$(date -u -d "@$((ts / 1000))" +%H:%M:%S)"; done)
    failures+=("samples: $lost of $sent_checked lost, first: $first(all: $out/lost-ts.txt)")
else
    samples_result="ok"
fi

# Commands: every valid one must be applied (QoS 1 on a persistent session), the last one last.
applied=$(grep -c 'command applied:' "$out/device.log" || true)
commands_result="ok"
if [ "$applied" -ne "$commands_sent" ]; then
    commands_result="FAIL"
    failures+=("commands: $applied applied of $commands_sent sent")
fi
threshold_result="ok"
if [ -z "$threshold_seen" ] || ! awk -v a="$threshold_seen" -v b="$final_threshold" 'BEGIN { exit !(a == b) }'; then
    threshold_result="FAIL"
    failures+=("final threshold: retained $id/state says '${threshold_seen:-nothing}' (expected $final_threshold): $final_state")
fi
last_applied=$(grep 'command applied:' "$out/device.log" | tail -1 | grep -o 'threshold[^,)]*' | head -1 || true)

# Bad payloads as counted by the programs themselves (from their throttled log lines).
max_so_far() { # file pattern
    { grep -o "$2" "$1" | grep -o '[0-9]\+' | sort -n | tail -1; } || true
}
bad_commands=$(max_so_far "$out/device.log" '[0-9]\+ bad commands so far\|([0-9]\+ so far)')
bad_telemetry=$(max_so_far "$out/dashboard.log" "malformed messages on $id/telemetry: .*([0-9]\\+ so far)")
if [ -z "$bad_telemetry" ]; then
    bad_telemetry=$(grep -c "ignoring malformed message on $id/telemetry" "$out/dashboard.log" || true)
fi
[ -z "$mal_done" ] || [ "${bad_commands:-0}" = "$flood_count" ] ||
    notes+=("the device counted ${bad_commands:-0} bad commands of $flood_count sent")
[ -z "$mal_done" ] || [ "${bad_telemetry:-0}" = "$flood_count" ] ||
    notes+=("the dashboard counted ${bad_telemetry:-0} malformed $id/telemetry messages of $flood_count sent (QoS 0 subscription: what arrives while it reconnects is not delivered)")
if [ "$device_rc" = 0 ] && [ "${device_stop% ms}" -gt 1000 ]; then
    notes+=("the device took $device_stop to exit on SIGTERM (docs/device.md: within 1 s)")
fi
if [ -n "$final_status" ] && [ "$final_status" != online ]; then
    notes+=("retained $id/status at the end was '$final_status' while the device was running")
fi

# Memory: peak VmHWM of each process; leak = RSS at the end more than max(3 MiB, 10 %) above
# the RSS at the end of minute 1. The dashboard holds the history in RAM (16 bytes a point, more
# while a vector grows), so it is allowed 64 bytes more per stored sample on top.
peak() { awk -F, -v p="$1" '$2 == p && $5 > m { m = $5 } END { print m + 0 }' "$mem_csv"; }
rss_at() { # process: "ref_kb end_kb" for the first instance's sample at >= ref_t and its last
    awk -F, -v p="$1" -v r="$ref_t" '
        $2 == p { if (pid == "") pid = $3; if ($3 != pid) next
                  if (ref == "" && $1 >= r) ref = $4; last = $4 }
        END { print (ref == "" ? "-" : ref), (last == "" ? "-" : last) }' "$mem_csv"
}
leak_rows=()
check_leak() { # process extra_kb
    local ref end limit pct
    read -r ref end < <(rss_at "$1")
    if [ "$ref" = - ] || [ "$end" = - ]; then
        leak_rows+=("$1|-|-|-|not enough samples")
        return
    fi
    pct=$((ref / 10))
    limit=$((pct > 3072 ? pct : 3072))
    limit=$((limit + $2))
    if [ $((end - ref)) -gt "$limit" ]; then
        leak_rows+=("$1|$ref|$end|$limit|LEAK")
        failures+=("leak: $1 RSS $ref kB at ${ref_t}s -> $end kB at the end (allowed +$limit kB)")
    else
        leak_rows+=("$1|$ref|$end|$limit|ok")
    fi
}
check_leak device 0
dash_extra=0
[ "$stored_total" = "?" ] || dash_extra=$((stored_total * 64 / 1024))
check_leak dashboard "$dash_extra"
if [ "$restart_every" -eq 0 ]; then check_leak broker 0; fi

# Logs.
log_lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
warn_lines() { if [ -f "$1" ]; then grep -Ec "$2" "$1" || true; else echo 0; fi; }
qt_warn='^[^ ]+ (warning|critical|fatal) |^nightlight-(device|dashboard): '
mq_warn='Warning|Error'

# ---------------------------------------------------------------------------------------------
# The summary

crash_result="ok"
[ ${#crashes[@]} -eq 0 ] || crash_result="FAIL"
leak_result="ok"
for row in "${leak_rows[@]}"; do [ "${row##*|}" != LEAK ] || leak_result="FAIL"; done
failures=("${crashes[@]}" "${failures[@]}")

echo
echo "== Nightlight soak: ${t_end} s of ${total} s, $restarts broker restarts (every ${restart_every} s, longest ${broker_restart_ms_max} ms), device every ${interval_ms} ms =="
row() { printf '%-34s %-50s %s\n' "$1" "$2" "${3:-}"; }
row "check" "value" "result"
row "samples sent (device log)" "$sent_all ($sent_checked before the last 5 s)"
row "samples stored (dashboard DB)" "$stored_total distinct ts, $stored_of_device of them the device's"
row "samples lost" "$lost" "$samples_result"
row "commands applied" "$applied of $commands_sent sent (last: ${last_applied:-none})" "$commands_result"
row "final threshold (retained state)" "${threshold_seen:-none} (expected $final_threshold)" "$threshold_result"
if [ -n "$mal_done" ]; then
    row "bad commands counted by device" "${bad_commands:-0} of $flood_count"
    row "malformed telemetry counted (dash)" "${bad_telemetry:-0} of $flood_count"
else
    row "malformed flood" "not run (the run ended early)"
fi
if [ -n "$dup_done" ]; then
    row "duplicate id: broker connections" "$dup_connections as $client_id in ${dup_len} s ($dup_takeovers takeovers)"
else
    row "duplicate-id episode" "not run (the run ended early)"
fi
row "device connects (whole run)" "$(grep -c 'connected to .* as ' "$out/device.log" || true)"
row "retained status at the end" "${final_status:-none}"
row "memory (see the table below)" "leak: RSS at the end vs at ${ref_t} s" "$leak_result"
row "exit status on SIGTERM" "device $device_rc, dashboard $dashboard_rc, broker $broker_rc, device2 ${dup_rc:-not run}" "$crash_result"
row "time to exit on SIGTERM" "device $device_stop, dashboard $dashboard_stop"
echo
printf '%-10s %12s %14s %14s %12s  %s\n' process "peak VmHWM" "RSS at ${ref_t}s" "RSS at end" "allowed +" leak
for p in device dashboard broker device2; do
    found=""
    for r in "${leak_rows[@]}"; do
        IFS='|' read -r name ref end limit res <<<"$r"
        if [ "$name" = "$p" ]; then
            printf '%-10s %9s kB %11s kB %11s kB %9s kB  %s\n' "$p" "$(peak "$p")" "$ref" "$end" "$limit" "$res"
            found=1
        fi
    done
    if [ -z "$found" ] && grep -q ",$p," "$mem_csv"; then
        why="not checked"
        [ "$p" != broker ] || why="not checked (restarted)"
        printf '%-10s %9s kB %14s %14s %12s  %s\n' "$p" "$(peak "$p")" - - - "$why"
    fi
done
echo
printf '%-22s %10s %10s\n' "log" lines warnings
printf '%-22s %10s %10s\n' device.log "$(log_lines "$out/device.log")" "$(warn_lines "$out/device.log" "$qt_warn")"
printf '%-22s %10s %10s\n' dashboard.log "$(log_lines "$out/dashboard.log")" "$(warn_lines "$out/dashboard.log" "$qt_warn")"
printf '%-22s %10s %10s\n' device2.log "$(log_lines "$out/device2.log")" "$(warn_lines "$out/device2.log" "$qt_warn")"
printf '%-22s %10s %10s\n' mosquitto.log "$(log_lines "$out/mosquitto.log")" "$(warn_lines "$out/mosquitto.log" "$mq_warn")"
echo
for n in "${notes[@]}"; do echo "note: $n"; done
echo "logs, soak.db and memory.csv: $out"
if [ ${#failures[@]} -eq 0 ]; then
    echo "RESULT: PASS"
    exit 0
fi
for f in "${failures[@]}"; do echo "FAIL: $f"; done
echo "RESULT: FAIL (${#failures[@]} problems)"
exit 1
