# Hardware backend suites: Grove Base Hat ADC over i2c-dev, LED on a GPIO line (libgpiod),
# CounterFit over HTTP (against a CounterFit stand-in served by the test itself).
nightlight_add_test(grovelightsensor LIBRARIES nightlight_device)
nightlight_add_test(gpioled LIBRARIES nightlight_device)
nightlight_add_test(counterfit LIBRARIES nightlight_device)
