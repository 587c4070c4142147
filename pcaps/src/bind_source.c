/*
 * LD_PRELOAD shim: give outgoing IPv4 TCP connections a chosen source
 * address.  Used by pcaps/make-captures.sh for clients whose library has no
 * way to bind before connecting (the native Snap7 client), so that every
 * host of the simulated plant talks from its own loopback address.
 *
 *   gcc -shared -fPIC -O2 -o bind_source.so bind_source.c -ldl
 *   BIND_SOURCE_ADDR=127.0.0.5 LD_PRELOAD=./bind_source.so program ...
 *
 * connect() on an AF_INET stream socket that is not bound yet first binds it
 * to BIND_SOURCE_ADDR, port 0 (an ephemeral port).  Sockets that are already
 * bound, other families and datagram sockets are left alone; without
 * BIND_SOURCE_ADDR the shim does nothing.  A failing bind() fails the
 * connect() with bind's errno rather than silently using another address.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    static connect_fn real_connect;
    if (!real_connect) {
        real_connect = (connect_fn)dlsym(RTLD_NEXT, "connect");
        if (!real_connect) {
            errno = ENOSYS;
            return -1;
        }
    }
    const char *want = getenv("BIND_SOURCE_ADDR");
    if (want && *want && addr && addr->sa_family == AF_INET) {
        int type = 0;
        socklen_t tlen = sizeof type;
        struct sockaddr_in local;
        socklen_t llen = sizeof local;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 && type == SOCK_STREAM &&
            getsockname(fd, (struct sockaddr *)&local, &llen) == 0 && local.sin_family == AF_INET &&
            local.sin_port == 0 && local.sin_addr.s_addr == htonl(INADDR_ANY)) {
            struct sockaddr_in src;
            memset(&src, 0, sizeof src);
            src.sin_family = AF_INET;
            src.sin_port = 0;
            if (inet_pton(AF_INET, want, &src.sin_addr) != 1) {
                errno = EINVAL;
                return -1;
            }
            if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0)
                return -1;
        }
    }
    return real_connect(fd, addr, len);
}
