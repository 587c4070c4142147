/*
 * Minimal Modbus/TCP server built on libmodbus (Debian libmodbus-dev).
 * Used by pcaps/make-captures.sh to produce reference captures.
 *
 *   usage: modbus_server_libmodbus [IP [PORT [MAX_SESSIONS]]]
 *
 * Serves every unit id from one mapping (libmodbus's TCP backend does not
 * filter on the unit id and echoes it in replies).  Out-of-range addresses
 * and unsupported function codes get libmodbus's own exception responses.
 * Exits after MAX_SESSIONS client connections (default 0 = until SIGTERM).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <modbus/modbus.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int main(int argc, char **argv)
{
    const char *ip = argc > 1 ? argv[1] : "127.0.0.1";
    int port = argc > 2 ? atoi(argv[2]) : 502;
    int max_sessions = argc > 3 ? atoi(argv[3]) : 0;

    /* No SA_RESTART: a signal interrupts accept()/recv() so we can exit. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    modbus_t *ctx = modbus_new_tcp(ip, port);
    if (ctx == NULL) {
        fprintf(stderr, "modbus_new_tcp: %s\n", modbus_strerror(errno));
        return 1;
    }
    /* 100 coils, 100 discrete inputs, 100 holding registers, 100 input registers */
    modbus_mapping_t *map = modbus_mapping_new(100, 100, 100, 100);
    if (map == NULL) {
        fprintf(stderr, "modbus_mapping_new: %s\n", modbus_strerror(errno));
        modbus_free(ctx);
        return 1;
    }
    for (int i = 0; i < 100; i++) {
        map->tab_bits[i] = (i % 3) == 0;
        map->tab_input_bits[i] = (i % 2) == 0;
        map->tab_registers[i] = (uint16_t)(i * 10);
        map->tab_input_registers[i] = (uint16_t)(1000 + i);
    }

    int listener = modbus_tcp_listen(ctx, 1);
    if (listener == -1) {
        fprintf(stderr, "modbus_tcp_listen: %s\n", modbus_strerror(errno));
        modbus_mapping_free(map);
        modbus_free(ctx);
        return 1;
    }
    fprintf(stderr, "libmodbus server listening on %s:%d\n", ip, port);

    int sessions = 0;
    while (!stop_requested && (max_sessions == 0 || sessions < max_sessions)) {
        int client = modbus_tcp_accept(ctx, &listener);
        if (client == -1)
            break; /* interrupted by a signal or listener error */
        sessions++;
        uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
        for (;;) {
            int rc = modbus_receive(ctx, query);
            if (rc > 0) {
                modbus_reply(ctx, query, rc, map);
            } else if (rc == -1) {
                break; /* connection closed by the client (or error) */
            }
            /* rc == 0: request for another slave on a serial line; ignore */
        }
        close(client);
        modbus_set_socket(ctx, -1);
    }

    close(listener);
    modbus_mapping_free(map);
    modbus_free(ctx);
    fprintf(stderr, "libmodbus server: %d session(s), exiting\n", sessions);
    return 0;
}
