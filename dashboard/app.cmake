# the dashboard application (issue #5)
# nightlight_dashboard_app: every application class (no main()), so tests can build the window.
add_library(nightlight_dashboard_app STATIC
    dashboardoptions.h dashboardoptions.cpp
    devicehub.h devicehub.cpp
    devicelistmodel.h devicelistmodel.cpp
    devicesortproxy.h devicesortproxy.cpp
    deviceitemdelegate.h deviceitemdelegate.cpp
    classview.h classview.cpp
    ledcontrol.h ledcontrol.cpp
    ledcontrolwidget.h ledcontrolwidget.cpp
    connectionsettings.h connectionsettings.cpp
    passwordstore.h passwordstore.cpp
    connectiondialog.h connectiondialog.cpp
    mainwindow.h mainwindow.cpp
)
target_include_directories(nightlight_dashboard_app PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(nightlight_dashboard_app
    PUBLIC nightlight nightlight_chart Qt6::Core Qt6::Gui Qt6::Widgets Qt6::Svg)
if(Qt6Keychain_FOUND)
    target_link_libraries(nightlight_dashboard_app PRIVATE qt6keychain)
    target_compile_definitions(nightlight_dashboard_app PRIVATE NIGHTLIGHT_HAVE_KEYCHAIN)
else()
    message(STATUS "QtKeychain not found: the dashboard will not store broker passwords")
endif()
nightlight_set_warnings(nightlight_dashboard_app)

qt_add_executable(nightlight-dashboard WIN32 main.cpp benchreport.h benchreport.cpp)
target_link_libraries(nightlight-dashboard PRIVATE nightlight_dashboard_app)
nightlight_set_warnings(nightlight-dashboard)

# The icon, compiled in (window icon) and installed for the desktop. In the app library so the
# tests' windows have it too.
qt_add_resources(nightlight_dashboard_app dashboard_icons
    PREFIX /icons
    BASE ${PROJECT_SOURCE_DIR}/resources
    FILES ${PROJECT_SOURCE_DIR}/resources/nightlight.svg)

# Translations: .ts -> .qm at build time, embedded under :/i18n (qt_add_translations, Qt 6.4).
# `cmake --build <dir> --target update_translations` refreshes the .ts files from the sources.
# SOURCES: everything with user-visible strings, the chart's included.
get_target_property(_nightlight_app_sources nightlight_dashboard_app SOURCES)
list(TRANSFORM _nightlight_app_sources PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/)
qt_add_translations(nightlight-dashboard
    TS_FILES ${PROJECT_SOURCE_DIR}/translations/nightlight_bn.ts
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/main.cpp ${_nightlight_app_sources}
        ${CMAKE_CURRENT_SOURCE_DIR}/lightchart.h ${CMAKE_CURRENT_SOURCE_DIR}/lightchart.cpp
        ${CMAKE_CURRENT_SOURCE_DIR}/telemetrystore.h ${CMAKE_CURRENT_SOURCE_DIR}/telemetrystore.cpp
    LUPDATE_OPTIONS -no-obsolete -locations none)

# Component "dashboard": the nightlight-dashboard package (cmake/NightlightPackaging.cmake).
install(TARGETS nightlight-dashboard RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    COMPONENT dashboard)
install(FILES ${PROJECT_SOURCE_DIR}/resources/nightlight-dashboard.desktop
    DESTINATION ${CMAKE_INSTALL_DATADIR}/applications COMPONENT dashboard)
install(FILES ${PROJECT_SOURCE_DIR}/resources/nightlight.svg
    DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps
    RENAME nightlight-dashboard.svg COMPONENT dashboard)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/nightlight-dashboard RENAME copyright
    COMPONENT dashboard)
