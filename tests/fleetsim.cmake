# nightlight-fleetsim (tools/fleetsim, issue #10) as a child process against a real broker.
nightlight_add_test(fleetsim)
target_compile_definitions(tst_fleetsim PRIVATE
    NIGHTLIGHT_FLEETSIM_BIN="$<TARGET_FILE:nightlight-fleetsim>")
add_dependencies(tst_fleetsim nightlight-fleetsim)

# The fleet bench at classroom size (issue #10): 300 devices on a private stock mosquitto, the
# dashboard offscreen: every sample stored, every status right at the end and after a dashboard
# restart (10 % killed uncleanly). The 5,000-device run is the benchmark (docs/fleet.md).
if(NIGHTLIGHT_BUILD_DASHBOARD)
    add_test(NAME fleet-status
        COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/bench-fleet.sh 300 1 20 --build ${CMAKE_BINARY_DIR})
    set_tests_properties(fleet-status PROPERTIES TIMEOUT 300)
endif()
