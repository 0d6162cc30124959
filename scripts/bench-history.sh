#!/usr/bin/env bash
# History benchmark (issue #11, item 5): what a long telemetry history costs the dashboard today.
# Builds bench_history with the `release` preset (RelWithDebInfo, -O2), generates a database of
# N devices x D days at one sample every S seconds (the schema the dashboard writes, realistic
# light curves and LED changes), then measures it offscreen in a fresh process: the first frame
# of the chart with window All, memory after it, a zoom to one minute and back, a CSV export.
# Prints the parameters and a markdown table (docs/chart.md, "History benchmark (#11)").
#   scripts/bench-history.sh                    the issue's case: 30 devices x 30 days x 5 s
#   scripts/bench-history.sh --small            a quick case: 5 devices x 7 days x 5 s
#   scripts/bench-history.sh --devices 10 --days 3 --interval-s 1 --keep
# Options:
#   --devices N --days D --interval-s S   the history (defaults 30, 30, 5)
#   --seed N          the generator's seed (default 1)
#   --keep            keep a newly generated database in the cache below for later runs (it is
#                     removed with the temporary directory otherwise); with --no-cache, keep the
#                     temporary directory instead
#   --no-cache        neither use nor fill the cache: always generate, in a temporary directory
#   --cold            drop the file from the OS page cache before measuring (as after a reboot;
#                     this file only); by default it is as warm as generating it left it
#   --json FILE       also write the measured table as JSON
#   --build DIR       use DIR/tests/bench_history as it is, without building (the smoke test)
#   --smoke           the CTest smoke test: 3 devices x 0.05 days x 5 s, no cache; checks that
#                     both modes exit 0, the table has every row, the first frame took > 0 ms
#                     and the samples measured are the samples generated
# A database generated for the same devices, days, interval, seed and generator version is
# reused from ${XDG_CACHE_HOME:-$HOME/.cache}/nightlight-bench/ when it is there (said so); its
# data then ends when it was generated, not now. NIGHTLIGHT_BENCH_BUILD_DIR=dir builds in another
# directory than the preset's build/release. Exit status: 0 done, 1 a step or check failed, 2 bad
# options.
set -euo pipefail
export LC_ALL=C
repo=$(cd "$(dirname "$0")/.." && pwd)

devices=30
days=30
interval=5
seed=1
keep=""
use_cache=1
json=""
cold=""
prebuilt=""
smoke=""

die_usage() { echo "bench-history.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --devices) devices=${2:-}; shift 2 || die_usage "--devices needs a value" ;;
        --days) days=${2:-}; shift 2 || die_usage "--days needs a value" ;;
        --interval-s) interval=${2:-}; shift 2 || die_usage "--interval-s needs a value" ;;
        --seed) seed=${2:-}; shift 2 || die_usage "--seed needs a value" ;;
        --small) devices=5; days=7; interval=5; shift ;;
        --keep) keep=1; shift ;;
        --no-cache) use_cache=""; shift ;;
        --cold) cold=1; shift ;;
        --json) json=${2:-}; shift 2 || die_usage "--json needs a file" ;;
        --build) prebuilt=${2:-}; shift 2 || die_usage "--build needs a directory" ;;
        --smoke) smoke=1; devices=3; days=0.05; interval=5; use_cache=""; shift ;;
        -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die_usage "unknown option $1 (see --help)" ;;
    esac
done
[[ $devices =~ ^[0-9]+$ ]] && [ "$devices" -ge 1 ] || die_usage "--devices must be a whole number >= 1"
[[ $days =~ ^[0-9]*[.]?[0-9]+$ ]] || die_usage "--days must be a number > 0"
[[ $interval =~ ^[0-9]*[.]?[0-9]+$ ]] || die_usage "--interval-s must be a number > 0"
[[ $seed =~ ^[0-9]+$ ]] || die_usage "--seed must be a whole number"

if [ -n "$prebuilt" ]; then
    bench="$prebuilt/tests/bench_history"
    [ -x "$bench" ] || die_usage "no $bench (build the bench_history target first)"
else
    cd "$repo"
    source scripts/release-build.sh
    release_build bench_history
    bench="$repo/$build/tests/bench_history"
    [[ $build = /* ]] && bench="$build/tests/bench_history"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-history.XXXXXX")
if [ -n "$keep" ] && [ -z "$use_cache" ]; then
    trap 'echo "Kept $tmp"' EXIT
else
    trap 'rm -rf "$tmp"' EXIT
fi
export QT_QPA_PLATFORM=offscreen

version=$("$bench" --generator-version)
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/nightlight-bench"
cached="$cache_dir/history-${devices}dev-${days}d-${interval}s-seed${seed}-gen${version}.sqlite"
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit="$commit (with uncommitted changes)"
fi

echo "History benchmark: $devices devices x $days days, a sample every $interval s, seed $seed"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo

if [ -n "$use_cache" ] && [ -f "$cached" ]; then
    db=$cached
    echo "Reusing the cached database $db ($(du -h "$db" | cut -f1); generated $(date -u -r "$db" '+%Y-%m-%d %H:%M UTC'), so its data ends then)"
    echo
else
    db="$tmp/history.sqlite"
    "$bench" --generate "$db" --devices "$devices" --days "$days" --interval-s "$interval" \
        --seed "$seed" | tee "$tmp/generate.txt"
    echo
    if [ -n "$use_cache" ] && [ -n "$keep" ]; then
        mkdir -p "$cache_dir"
        mv "$db" "$cached.part"
        mv "$cached.part" "$cached"
        db=$cached
        echo "Kept in the cache: $db ($(du -h "$db" | cut -f1))"
        echo
    fi
fi

measure_args=(--measure "$db" --json "$tmp/measure.json")
[ -z "$cold" ] || measure_args+=(--cold)
"$bench" "${measure_args[@]}" | tee "$tmp/measure.txt"
[ -z "$json" ] || cp "$tmp/measure.json" "$json"

if [ -n "$smoke" ]; then
    fail() { echo "bench-history.sh: smoke: $*" >&2; exit 1; }
    # The value column of a table row, by its name.
    value() { awk -F'|' -v name="$2" '{ n = $2; gsub(/^ +| +$/, "", n); if (n == name) { v = $3; gsub(/ /, "", v); print v } }' "$1"; }
    rows=(
        "database file" "devices" "samples in the file" "samples of the device shown" "open()"
        "first frame with data, from open()" "first frame with data, from process start"
        "RSS before open()" "RSS after first frame" "private memory after first frame"
        "peak RSS up to first frame" "store memory (columns + summaries)" "store bytes per sample"
        "RSS growth per sample"
        "zoom All -> 1 min: first frame with data" "zoom All -> 1 min: longest frame"
        "zoom All -> 1 min: longest event-loop gap" "zoom All -> 1 min: GUI-thread CPU in that gap"
        "zoom 1 min -> All: first frame with data" "zoom 1 min -> All: longest frame"
        "zoom 1 min -> All: longest event-loop gap" "zoom 1 min -> All: GUI-thread CPU in that gap"
        "CSV export, last 30 days" "CSV export: longest event-loop gap" "CSV export size"
        "CSV export rows"
    )
    for row in "${rows[@]}"; do
        [ -n "$(value "$tmp/measure.txt" "$row")" ] || fail "no row \"$row\" in the table"
    done
    [ "$(grep -c '^| ' "$tmp/measure.txt")" -eq $((${#rows[@]} + 1)) ] \
        || fail "the table has other rows than the ${#rows[@]} expected"
    first=$(value "$tmp/measure.txt" "first frame with data, from open()")
    awk -v v="$first" 'BEGIN { exit !(v > 0) }' || fail "first frame took $first ms"
    made=$(value "$tmp/generate.txt" "samples generated")
    seen=$(value "$tmp/measure.txt" "samples in the file")
    expected=$(awk -v n="$devices" -v d="$days" -v s="$interval" \
        'BEGIN { x = d * 86400 / s; printf "%d", n * int(x + 0.5) }')
    [ "$made" = "$expected" ] || fail "generated $made samples, expected $expected"
    [ "$seen" = "$made" ] || fail "measured $seen samples of the $made generated"
    [ -n "$(grep '"name": "open()"' "$tmp/measure.json")" ] || fail "no JSON written"
    echo
    echo "smoke: ok ($made samples generated and measured, first frame $first ms)"
fi
