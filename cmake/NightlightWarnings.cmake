# Compiler settings for our own targets only (never for Qt's or libmosquitto's headers).
set(NIGHTLIGHT_SANITIZE "" CACHE STRING "Sanitizers for our targets, e.g. address,undefined")

function(nightlight_set_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
    if(NIGHTLIGHT_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
    if(NIGHTLIGHT_SANITIZE)
        target_compile_options(${target} PRIVATE -fsanitize=${NIGHTLIGHT_SANITIZE}
            -fno-omit-frame-pointer -fno-sanitize-recover=all)
        target_link_options(${target} PUBLIC -fsanitize=${NIGHTLIGHT_SANITIZE})
    endif()
    target_compile_definitions(${target} PRIVATE
        QT_NO_CAST_FROM_ASCII QT_NO_CAST_TO_ASCII QT_NO_URL_CAST_FROM_STRING
        QT_NO_CAST_FROM_BYTEARRAY QT_USE_QSTRINGBUILDER
        NIGHTLIGHT_VERSION="${PROJECT_VERSION}")
endfunction()
