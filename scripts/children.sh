# Sourced by scripts/soak.sh and scripts/bench-fleet.sh: the state of a child process and a
# bounded stop of it. Not a command of its own.

# True while pid $1 runs (a zombie does not count). One read of /proc/PID/stat: bash reaps an
# exited child on its own at any moment, so "kill -0 worked, then the stat file was gone" must
# mean gone, not running (that race once made stop_child call a clean exit "hung").
alive() {
    [ -n "$1" ] || return 1
    local stat state
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$stat" ] || return 1
    state=${stat##*) } # after the command name, which may hold spaces and parentheses
    [ "${state%% *}" != Z ]
}

# Stops child $1 with SIGTERM (SIGKILL after $2 seconds); its exit status goes to STOP_RC ("hung"
# if it had to be killed), the time it took to STOP_MS. Not in a subshell: `wait` needs our own
# child.
STOP_RC=0
STOP_MS=0
stop_child() {
    local pid=$1 limit=$2 i=0 start
    start=$(date +%s%3N)
    kill -TERM "$pid" 2>/dev/null || true
    while alive "$pid" && [ $i -lt $((limit * 10)) ]; do sleep 0.1; i=$((i + 1)); done
    local hung=""
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; hung=1; fi
    STOP_RC=0
    wait "$pid" 2>/dev/null || STOP_RC=$?
    STOP_MS=$(($(date +%s%3N) - start))
    [ -z "$hung" ] || STOP_RC="hung (killed after ${limit} s)"
}
