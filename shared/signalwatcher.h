#pragma once

// SignalWatcher: turns POSIX signals (SIGTERM, SIGINT, SIGHUP, ...) into a Qt signal on the
// thread that owns the watcher, so a program shuts down through its event loop (flushing files,
// sending DISCONNECT) instead of dying wherever the signal finds it.
//
// The handler is async-signal-safe: it only write(2)s the signal number to one end of a
// non-blocking socketpair (a byte is dropped, never waited for, when the pair is full: one
// pending byte is enough to wake the loop). A QSocketNotifier on the other end emits
// signalReceived() from the event loop. Signals that arrive before the loop runs wait in the
// socketpair. One watcher at a time per process (the handler finds it through a process-wide
// descriptor); the destructor puts the previous handlers back. Owner's thread only.

#include <QList>
#include <QObject>
#include <QString>

#include <memory>

namespace nightlight {

class SignalWatcher : public QObject
{
    Q_OBJECT

public:
    explicit SignalWatcher(QObject *parent = nullptr);
    ~SignalWatcher() override;

    // Installs the handler for each of `signalNumbers` (e.g. {SIGTERM, SIGINT}). False, with
    // errorString(), when the socketpair or a sigaction() fails or another SignalWatcher already
    // watches; then no handler of ours is left installed. Call once.
    bool watch(const QList<int> &signalNumbers);
    bool isWatching() const;
    // Why watch() failed, e.g. "cannot install a handler for signal 15: Invalid argument".
    QString errorString() const;

signals:
    // A watched signal arrived. Delivered from the event loop, once per signal received (a burst
    // of the same signal while the loop is busy may come as fewer calls).
    void signalReceived(int signalNumber);

private:
    struct Private;
    std::unique_ptr<Private> const d;
};

} // namespace nightlight
