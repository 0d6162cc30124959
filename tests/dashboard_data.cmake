# TelemetryStore and LightChart suites and benchmarks (issue #5)
nightlight_add_test(telemetrystore LIBRARIES nightlight_chart)
# The store's parts on their own: samples, LED history, the SQLite file, CSV.
nightlight_add_test(sampleseries LIBRARIES nightlight_chart)
nightlight_add_test(ledhistory LIBRARIES nightlight_chart)
nightlight_add_test(telemetrydatabase LIBRARIES nightlight_chart)
# Its summaries (history format 2, #11): built, caught up, replayed, forgotten, retained.
nightlight_add_test(historytiers LIBRARIES nightlight_chart)
nightlight_add_test(historycache LIBRARIES nightlight_chart)
nightlight_add_test(csvexport LIBRARIES nightlight_chart)
nightlight_add_test(lightchart LIBRARIES nightlight_chart)
# LightChart's arithmetic on its own: axis ticks, the visible window.
nightlight_add_test(axisticks LIBRARIES nightlight_chart)
nightlight_add_test(chartviewport LIBRARIES nightlight_chart)
nightlight_add_benchmark(lightchart LIBRARIES nightlight_chart Qt6::Widgets Qt6::Test)
# What a long history costs the dashboard (#11): generate a database, measure the first frame,
# memory, a zoom and a CSV export (scripts/bench-history.sh, docs/chart.md).
nightlight_add_benchmark(history LIBRARIES nightlight_chart nightlight_testsupport Qt6::Widgets)
# Its smoke test: both modes on a tiny file (3 devices x 0.05 days), in a temporary directory,
# without the cache. A check that the benchmark runs and is whole, not a measurement (Debug).
add_test(NAME history-bench-smoke
    COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/bench-history.sh --smoke --build ${CMAKE_BINARY_DIR})
set_tests_properties(history-bench-smoke PROPERTIES TIMEOUT 60
    ENVIRONMENT "QT_QPA_PLATFORM=offscreen")
