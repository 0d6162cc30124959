#pragma once

// BlackHole: a loopback address that swallows TCP connects. A listening socket with backlog 0
// whose accept queue is filled by two non-blocking connects: Linux then drops further SYNs, so a
// connect() to port() neither succeeds nor fails for about two minutes, like a firewall that
// drops packets.

#include <QList>
#include <QtGlobal>

class BlackHole
{
public:
    BlackHole() = default;
    BlackHole(const BlackHole &) = delete;
    BlackHole &operator=(const BlackHole &) = delete;
    ~BlackHole();

    // False when a socket call failed.
    bool open();
    quint16 port() const { return m_port; }

private:
    int add(int fd);

    QList<int> m_fds;
    quint16 m_port = 0;
};
