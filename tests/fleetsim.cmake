# nightlight-fleetsim (tools/fleetsim, issue #10) as a child process against a real broker.
nightlight_add_test(fleetsim)
target_compile_definitions(tst_fleetsim PRIVATE
    NIGHTLIGHT_FLEETSIM_BIN="$<TARGET_FILE:nightlight-fleetsim>")
add_dependencies(tst_fleetsim nightlight-fleetsim)
