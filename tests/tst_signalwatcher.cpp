// SignalWatcher with real signals raised in this process: delivered from the event loop (never
// from inside the handler), one watcher at a time, bad signal numbers refused with nothing left
// installed, and the previous handlers back after destruction.

#include "signalwatcher.h"

#include <QSignalSpy>
#include <QTest>

#include <csignal>

using nightlight::SignalWatcher;

namespace {

// The handler installed for `signalNumber` now.
void (*currentHandler(int signalNumber))(int)
{
    struct sigaction sa = {};
    ::sigaction(signalNumber, nullptr, &sa);
    return sa.sa_handler;
}

} // namespace

class TestSignalWatcher : public QObject
{
    Q_OBJECT

private slots:
    void deliversOnTheEventLoop();
    void burstWhileTheLoopIsBusy();
    void oneWatcherAtATime();
    void badSignalLeavesNothingInstalled();
    void restoresPreviousHandlers();
};

void TestSignalWatcher::deliversOnTheEventLoop()
{
    SignalWatcher watcher;
    QVERIFY2(watcher.watch({SIGUSR1, SIGUSR2}), qPrintable(watcher.errorString()));
    QVERIFY(watcher.isWatching());
    QSignalSpy received(&watcher, &SignalWatcher::signalReceived);
    QCOMPARE(::raise(SIGUSR1), 0); // default action would end the process
    QVERIFY(received.isEmpty()); // not from inside the handler
    QVERIFY(received.wait(5000));
    QCOMPARE(received.takeFirst().at(0).toInt(), int(SIGUSR1));
    QCOMPARE(::raise(SIGUSR2), 0);
    QVERIFY(received.wait(5000));
    QCOMPARE(received.takeFirst().at(0).toInt(), int(SIGUSR2));
}

void TestSignalWatcher::burstWhileTheLoopIsBusy()
{
    SignalWatcher watcher;
    QVERIFY(watcher.watch({SIGUSR1}));
    QSignalSpy received(&watcher, &SignalWatcher::signalReceived);
    for (int i = 0; i < 3; ++i)
        QCOMPARE(::raise(SIGUSR1), 0);
    QVERIFY(received.isEmpty());
    QVERIFY(received.wait(5000));
    QTRY_COMPARE_WITH_TIMEOUT(received.count(), 3, 5000);
    for (const QList<QVariant> &args : std::as_const(received))
        QCOMPARE(args.at(0).toInt(), int(SIGUSR1));
}

void TestSignalWatcher::oneWatcherAtATime()
{
    SignalWatcher first;
    QVERIFY(first.watch({SIGUSR1}));
    SignalWatcher second;
    QVERIFY(!second.watch({SIGUSR2}));
    QVERIFY(!second.isWatching());
    QVERIFY2(second.errorString().contains(QStringLiteral("another SignalWatcher")),
             qPrintable(second.errorString()));
    QVERIFY(!first.watch({SIGUSR2}));
}

void TestSignalWatcher::badSignalLeavesNothingInstalled()
{
    const auto before = currentHandler(SIGUSR1);
    {
        SignalWatcher watcher;
        // SIGKILL cannot be caught: sigaction() says EINVAL, SIGUSR1's handler is taken back.
        QVERIFY(!watcher.watch({SIGUSR1, SIGKILL}));
        QVERIFY(!watcher.isWatching());
        QVERIFY2(watcher.errorString().contains(QStringLiteral("signal %1").arg(SIGKILL)),
                 qPrintable(watcher.errorString()));
        QVERIFY(currentHandler(SIGUSR1) == before);
    }
    // And it did not keep the place of the one watcher.
    SignalWatcher next;
    QVERIFY2(next.watch({SIGUSR1}), qPrintable(next.errorString()));
}

void TestSignalWatcher::restoresPreviousHandlers()
{
    ::signal(SIGUSR2, SIG_IGN);
    {
        SignalWatcher watcher;
        QVERIFY(watcher.watch({SIGUSR2}));
        QVERIFY(currentHandler(SIGUSR2) != SIG_IGN);
    }
    QVERIFY(currentHandler(SIGUSR2) == SIG_IGN);
    ::signal(SIGUSR2, SIG_DFL);
}

QTEST_GUILESS_MAIN(TestSignalWatcher)
#include "tst_signalwatcher.moc"
