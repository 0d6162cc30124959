nightlight_add_test(protocol)
nightlight_add_test(logthrottle)
nightlight_add_test(mqttfailure)
nightlight_add_test(mqttpacketfilter)
nightlight_add_test(mqttoutbox)

# MqttClient against a real mosquitto (TestBroker); the Last Will test runs mqttwillclient.
qt_add_executable(mqttwillclient mqttwillclient.cpp)
target_link_libraries(mqttwillclient PRIVATE nightlight)
nightlight_set_warnings(mqttwillclient)

nightlight_add_test(mqttclient)
target_compile_definitions(tst_mqttclient PRIVATE
    MQTTWILLCLIENT_PATH="$<TARGET_FILE:mqttwillclient>")
add_dependencies(tst_mqttclient mqttwillclient)
nightlight_add_test(mqttsecurity)

# SignalWatcher with real signals raised in the test process.
nightlight_add_test(signalwatcher)
