#include "signalwatcher.h"

#include <QPointer>
#include <QSocketNotifier>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <utility>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

namespace nightlight {

namespace {

// The write end of the socketpair of the watcher in use, -1 while there is none. Read by the
// handler: a lock-free atomic is async-signal-safe, a mutex would not be.
std::atomic<int> s_writeFd{-1};
static_assert(std::atomic<int>::is_always_lock_free);

// Async-signal-safe (signal-safety(7)): an atomic load and write(2), errno kept.
void onSignal(int signalNumber)
{
    const int savedErrno = errno;
    const int fd = s_writeFd.load();
    if (fd >= 0) {
        const char c = char(signalNumber);
        [[maybe_unused]] const ssize_t n = ::write(fd, &c, 1);
    }
    errno = savedErrno;
}

QString errnoText(int error)
{
    return QString::fromLocal8Bit(std::strerror(error));
}

} // namespace

struct SignalWatcher::Private
{
    int fds[2] = {-1, -1}; // [0] written by the handler, [1] read by the notifier
    std::unique_ptr<QSocketNotifier> notifier; // on fds[1]; gone before fds[1] is closed
    // The actions our handler replaced, put back by the destructor.
    std::vector<std::pair<int, struct sigaction>> previous;
    QString error;

    void restore()
    {
        for (auto it = previous.rbegin(); it != previous.rend(); ++it)
            ::sigaction(it->first, &it->second, nullptr);
        previous.clear();
    }

    void closeFds()
    {
        for (int &fd : fds) {
            if (fd >= 0)
                ::close(fd);
            fd = -1;
        }
    }
};

SignalWatcher::SignalWatcher(QObject *parent) : QObject(parent), d(std::make_unique<Private>()) { }

SignalWatcher::~SignalWatcher()
{
    if (!isWatching())
        return;
    // Our handlers first, so no new one starts; then the descriptor they write to.
    d->restore();
    s_writeFd.store(-1);
    d->notifier.reset();
    d->closeFds();
}

bool SignalWatcher::watch(const QList<int> &signalNumbers)
{
    if (isWatching()) {
        d->error = QStringLiteral("this watcher already watches signals");
        return false;
    }
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, d->fds) != 0) {
        d->error = QStringLiteral("cannot create the signal socket pair: %1").arg(errnoText(errno));
        return false;
    }
    int expected = -1;
    if (!s_writeFd.compare_exchange_strong(expected, d->fds[0])) {
        d->closeFds();
        d->error = QStringLiteral("another SignalWatcher already watches signals");
        return false;
    }
    struct sigaction sa = {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    // Interrupted system calls resume: the rest of the program need not expect EINTR.
    sa.sa_flags = SA_RESTART;
    for (const int signalNumber : signalNumbers) {
        struct sigaction old = {};
        if (::sigaction(signalNumber, &sa, &old) != 0) {
            const int error = errno;
            d->restore();
            s_writeFd.store(-1);
            d->closeFds();
            d->error = QStringLiteral("cannot install a handler for signal %1: %2")
                           .arg(signalNumber)
                           .arg(errnoText(error));
            return false;
        }
        d->previous.emplace_back(signalNumber, old);
    }
    d->notifier = std::make_unique<QSocketNotifier>(qintptr(d->fds[1]), QSocketNotifier::Read);
    connect(d->notifier.get(), &QSocketNotifier::activated, this, [this] {
        char buffer[64];
        const ssize_t n = ::read(d->fds[1], buffer, sizeof buffer);
        // A receiver may delete the watcher (and so d) from its slot.
        const QPointer<SignalWatcher> guard(this);
        for (ssize_t i = 0; i < n && guard; ++i)
            emit signalReceived(int(buffer[i]));
    });
    d->error.clear();
    return true;
}

bool SignalWatcher::isWatching() const
{
    return d->notifier != nullptr;
}

QString SignalWatcher::errorString() const
{
    return d->error;
}

} // namespace nightlight
