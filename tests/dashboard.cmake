# dashboard suites (issue #5)
# They run the real nightlight-device (simulated sensor) as a child process when it is built.
function(nightlight_use_device_binary target)
    if(TARGET nightlight-device)
        target_compile_definitions(${target} PRIVATE
            NIGHTLIGHT_DEVICE_BINARY="$<TARGET_FILE:nightlight-device>")
        add_dependencies(${target} nightlight-device)
    endif()
endfunction()

nightlight_add_test(ledcontrol LIBRARIES nightlight_dashboard_app)
nightlight_use_device_binary(tst_ledcontrol)

nightlight_add_test(devicelistmodel LIBRARIES nightlight_dashboard_app)

nightlight_add_test(dashboard LIBRARIES nightlight_dashboard_app)
nightlight_use_device_binary(tst_dashboard)
target_compile_definitions(tst_dashboard PRIVATE
    NIGHTLIGHT_SCREENSHOT_DIR="${CMAKE_CURRENT_BINARY_DIR}"
    NIGHTLIGHT_DASHBOARD_BINARY="$<TARGET_FILE:nightlight-dashboard>"
    NIGHTLIGHT_TS_FILE="${PROJECT_SOURCE_DIR}/translations/nightlight_bn.ts"
    NIGHTLIGHT_QM_FILE="${PROJECT_BINARY_DIR}/dashboard/nightlight_bn.qm")
add_dependencies(tst_dashboard nightlight-dashboard)

# Ingest benchmark: the dashboard pipeline beside a bare libmosquitto subscriber.
nightlight_add_benchmark(ingest LIBRARIES nightlight_dashboard_app nightlight_testsupport
    PkgConfig::Mosquitto Qt6::Test)

# The class view and the device list for fleets (#10).
nightlight_add_test(devicesortproxy LIBRARIES nightlight_dashboard_app)
nightlight_add_test(classview LIBRARIES nightlight_dashboard_app)
# Class view benchmark: a frame of 100 tiles beside the detail chart's (scripts/bench-classview.sh).
nightlight_add_benchmark(classview LIBRARIES nightlight_dashboard_app Qt6::Widgets)
