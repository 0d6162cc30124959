# Packages (issue #8). In a Release build, `cpack -G DEB` makes one Debian package per install
# component, named <package>_<version>_<arch>.deb:
#   nightlight-device     component "device" (device/CMakeLists.txt): the headless program, its
#                         systemd unit, /etc/nightlight/device.conf; no Qt GUI, for a Pi Zero.
#   nightlight-dashboard  component "dashboard" (dashboard/app.cmake): the Widgets program, its
#                         .desktop file and icon.
# Depends: what dpkg-shlibdeps finds for each binary, plus what it cannot see: the Qt plugins a
# program loads at run time and the tools the maintainer scripts call.
# `cpack -G TGZ` makes the same two as tarballs (nightlight-<version>-Linux-<component>.tar.gz),
# laid out like the packages (usr/, etc/, lib/), without the maintainer scripts.
set(CPACK_PACKAGE_NAME nightlight)
set(CPACK_PACKAGE_VENDOR "The Nightlight developers")
set(CPACK_PACKAGE_CONTACT "The Nightlight developers <nightlight@example.invalid>")
set(CPACK_GENERATOR TGZ DEB)
set(CPACK_STRIP_FILES ON)
# Install with DESTDIR, so that the absolute destinations (/etc/nightlight, /lib/systemd/system)
# land in the staging directory and never in the build machine's /etc (DEB does this by itself,
# TGZ needs it said), under the prefix /usr for both.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
# Each package's Description begins with its own summary line (CPACK_DEBIAN_<COMP>_DESCRIPTION):
# an empty summary keeps CPack from putting the project's description above it.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "")

set(CPACK_COMPONENTS_ALL device)
if(NIGHTLIGHT_BUILD_DASHBOARD)
    list(APPEND CPACK_COMPONENTS_ALL dashboard)
endif()

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_ARCHIVE_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Maintainer scripts 0755 and conffiles 0644 whatever the checkout's modes are.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_DEVICE_PACKAGE_SECTION net)
set(CPACK_DEBIAN_DEVICE_DESCRIPTION
    "Nightlight device: light sensor and LED steered over MQTT
A headless Qt Core service: every few seconds it reads a light sensor, switches an LED on while
it is dark, publishes the reading over MQTT and obeys LED commands. Backends: a Grove light
sensor and LED on a Raspberry Pi, the CounterFit virtual hardware, or a simulation.
The package runs it as the system user nightlight under systemd, with its settings in
/etc/nightlight/device.conf (as shipped: the simulated sensor, the broker on localhost:1883).")
# adduser: the postinst makes the system user and puts it in the groups gpio and i2c.
# No plugin: the simulated, Grove and plain-HTTP CounterFit backends load none, and Qt Network's
# TLS backends (for an https:// CounterFit) are in libqt6network6, which shlibdeps finds.
set(CPACK_DEBIAN_DEVICE_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_DEVICE_PACKAGE_SUGGESTS "mosquitto, mosquitto-clients")
set(_nightlight_maintscripts ${PROJECT_SOURCE_DIR}/packaging/nightlight-device)
set(CPACK_DEBIAN_DEVICE_PACKAGE_CONTROL_EXTRA
    ${_nightlight_maintscripts}/conffiles
    ${_nightlight_maintscripts}/postinst
    ${_nightlight_maintscripts}/prerm
    ${_nightlight_maintscripts}/postrm)

set(CPACK_DEBIAN_DASHBOARD_PACKAGE_SECTION net)
set(CPACK_DEBIAN_DASHBOARD_DESCRIPTION
    "Nightlight dashboard: watch a nightlight's light level and switch its LED
A Qt Widgets program that discovers Nightlight devices on an MQTT broker, plots their light
level live, keeps the history in SQLite, and switches the LED on, off or back to automatic,
showing whether the device really did it.")
# Plugins, which dpkg-shlibdeps cannot see: SQLite for the history, SVG for the icon, and the
# platform plugins (on bookworm xcb itself is in libqt6gui6, which shlibdeps finds).
set(CPACK_DEBIAN_DASHBOARD_PACKAGE_DEPENDS "libqt6sql6-sqlite, libqt6svg6, qt6-qpa-plugins")
set(CPACK_DEBIAN_DASHBOARD_PACKAGE_SUGGESTS "fonts-lohit-beng-bengali")

include(CPack)
