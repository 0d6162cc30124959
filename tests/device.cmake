# device suites (issue #4)
nightlight_add_test(nightlight LIBRARIES nightlight_device)
nightlight_add_test(deviceoptions LIBRARIES nightlight_device)
nightlight_add_test(simulatedlightsensor LIBRARIES nightlight_device)
nightlight_add_test(simulatedled LIBRARIES nightlight_device)
nightlight_add_test(backends LIBRARIES nightlight_device)

# The real nightlight-device binary as a child process against a real broker.
nightlight_add_test(nightlightdevice LIBRARIES nightlight_device)
target_compile_definitions(tst_nightlightdevice PRIVATE
    NIGHTLIGHT_DEVICE_BIN="$<TARGET_FILE:nightlight-device>")
add_dependencies(tst_nightlightdevice nightlight-device)

# Command -> state latency (beside a bare libmosquitto echo client), CPU, memory, start-up time.
# Run with scripts/bench-device.sh.
nightlight_add_benchmark(device LIBRARIES nightlight_testsupport PkgConfig::Mosquitto)
target_compile_definitions(bench_device PRIVATE
    NIGHTLIGHT_DEVICE_BIN="$<TARGET_FILE:nightlight-device>"
    NIGHTLIGHT_BAREDEVICE_BIN="$<TARGET_FILE:nightlight-baredevice>")
add_dependencies(bench_device nightlight-device nightlight-baredevice)
# Its smoke test: a few commands and ticks of nightlight-device and of the bare C device, so CI
# knows both run whole (a check, not a measurement: Debug, a shared machine).
add_test(NAME device-bench-smoke
    COMMAND bench_device --commands 20 --ticks 40 --starts 1)
set_tests_properties(device-bench-smoke PROPERTIES TIMEOUT 120)

# Home Assistant discovery (#12): the configs, and the real binary against a real broker.
nightlight_add_test(hadiscovery LIBRARIES nightlight_device)
target_compile_definitions(tst_hadiscovery PRIVATE
    NIGHTLIGHT_DEVICE_BIN="$<TARGET_FILE:nightlight-device>")
add_dependencies(tst_hadiscovery nightlight-device)
