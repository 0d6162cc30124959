# TelemetryStore and LightChart suites and benchmarks (issue #5)
nightlight_add_test(telemetrystore LIBRARIES nightlight_chart)
nightlight_add_test(lightchart LIBRARIES nightlight_chart)
nightlight_add_benchmark(lightchart LIBRARIES nightlight_chart Qt6::Widgets)
