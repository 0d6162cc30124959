#include "emojiid.h"

#include <QProcess>
#include <QTest>

void verifyEmojiIdRefused(const QString &program, QProcessEnvironment base,
                          const QStringList &locale, int timeoutMs)
{
    const QStringList names = base.keys();
    for (const QString &name : names) {
        if (name == QLatin1String("LANG") || name == QLatin1String("LANGUAGE") ||
            name.startsWith(QLatin1String("LC_")))
            base.remove(name);
    }
    for (const QString &assignment : locale)
        base.insert(assignment.section(u'=', 0, 0), assignment.section(u'=', 1));
    QProcess p;
    p.setProcessEnvironment(base);
    p.start(program, {QStringLiteral("--id"), QStringLiteral("lamp\U0001F4A1")});
    QVERIFY(p.waitForFinished(timeoutMs));
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 2);
    const QByteArray err = p.readAllStandardError();
    QVERIFY2(err.contains("\"lamp\xf0\x9f\x92\xa1\" contains '\xf0\x9f\x92\xa1'"), err.constData());
    QVERIFY2(!err.contains("'?'") && !err.contains("\xef\xbf\xbd"), err.constData()); // no U+FFFD
}
