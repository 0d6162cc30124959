# Sourced by the bench scripts (bench-chart.sh, bench-classview.sh, bench-history.sh): builds one
# target with the `release` preset. Not a command of its own.

# release_build TARGET, from the repository root: configures the preset in
# $NIGHTLIGHT_BENCH_BUILD_DIR when set (else its own build/release), builds TARGET there and sets
# `build` to that directory.
release_build() {
    if [ -n "${NIGHTLIGHT_BENCH_BUILD_DIR:-}" ]; then
        build=$NIGHTLIGHT_BENCH_BUILD_DIR
        cmake --preset release -B "$build" >/dev/null
    else
        build=build/release
        cmake --preset release >/dev/null
    fi
    cmake --build "$build" --target "$1"
}
