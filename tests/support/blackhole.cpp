#include "blackhole.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

BlackHole::~BlackHole()
{
    for (int fd : m_fds)
        ::close(fd);
}

int BlackHole::add(int fd)
{
    if (fd >= 0)
        m_fds.append(fd);
    return fd;
}

bool BlackHole::open()
{
    const int listener = add(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    // Backlog 0: one connection fills the queue, and nobody ever accepts it.
    if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr *>(&addr), len) != 0 ||
        ::listen(listener, 0) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr *>(&addr), &len) != 0)
        return false;
    m_port = ntohs(addr.sin_port);
    for (int i = 0; i < 2; ++i) {
        const int filler = add(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (filler < 0)
            return false;
        ::connect(filler, reinterpret_cast<sockaddr *>(&addr), len); // EINPROGRESS
    }
    return true;
}
