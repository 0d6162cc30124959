#pragma once

// A check both programs' suites share (#9): a program given the device id "lamp💡" refuses it with
// exit code 2 and names the whole character on stderr in UTF-8, whatever the locale, never '?'
// or U+FFFD (half of a surrogate pair).

#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

// Runs `program --id lamp💡` with `base` less every locale variable (LANG, LANGUAGE, LC_*), plus
// the NAME=value `locale` assignments, and checks the above with QTest macros: the caller returns
// when QTest::currentTestFailed().
void verifyEmojiIdRefused(const QString &program, QProcessEnvironment base,
                          const QStringList &locale, int timeoutMs);
