/*
 * Modbus/TCP polling client built on libmodbus (Debian libmodbus-dev).
 * Used by pcaps/make-captures.sh to produce reference captures.
 *
 * Each round, for unit ids 1 and 2: FC1, FC2, FC3, FC4, FC5, FC6, FC15,
 * FC16, FC23, FC22, FC17 (report server id), then one read of an address
 * that is out of range (expects exception 02).  With UNKNOWN_UNIT given,
 * finish with one read addressed to that unit id (expects an exception or a
 * time-out, whatever the server does for a unit it does not serve).
 *
 *   usage: modbus_client_libmodbus [IP [PORT [ROUNDS [UNKNOWN_UNIT]]]]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <modbus/modbus.h>

static int failures = 0;

static void check(int rc, const char *what, int expect_error)
{
    if (rc == -1 && !expect_error) {
        fprintf(stderr, "  %-28s FAILED: %s\n", what, modbus_strerror(errno));
        failures++;
    } else if (rc == -1) {
        fprintf(stderr, "  %-28s exception as expected: %s\n", what, modbus_strerror(errno));
    } else if (expect_error) {
        fprintf(stderr, "  %-28s unexpectedly succeeded\n", what);
        failures++;
    } else {
        fprintf(stderr, "  %-28s ok (%d)\n", what, rc);
    }
}

int main(int argc, char **argv)
{
    const char *ip = argc > 1 ? argv[1] : "127.0.0.1";
    int port = argc > 2 ? atoi(argv[2]) : 502;
    int rounds = argc > 3 ? atoi(argv[3]) : 2;
    int unknown_unit = argc > 4 ? atoi(argv[4]) : 0;

    modbus_t *ctx = modbus_new_tcp(ip, port);
    if (ctx == NULL) {
        fprintf(stderr, "modbus_new_tcp: %s\n", modbus_strerror(errno));
        return 1;
    }
    modbus_set_response_timeout(ctx, 2, 0);
    if (modbus_connect(ctx) == -1) {
        fprintf(stderr, "modbus_connect: %s\n", modbus_strerror(errno));
        modbus_free(ctx);
        return 1;
    }

    uint8_t bits[64];
    uint16_t regs[64];
    uint8_t id[MODBUS_MAX_PDU_LENGTH];
    const uint8_t coil_pattern[10] = {1, 0, 1, 1, 0, 0, 1, 0, 1, 1};
    const int units[2] = {1, 2};

    for (int round = 0; round < rounds; round++) {
        for (int u = 0; u < 2; u++) {
            modbus_set_slave(ctx, units[u]);
            fprintf(stderr, "round %d unit %d\n", round, units[u]);
            check(modbus_read_bits(ctx, 0, 16, bits), "FC01 read coils", 0);
            check(modbus_read_input_bits(ctx, 0, 16, bits), "FC02 read discrete inputs", 0);
            check(modbus_read_registers(ctx, 0, 10, regs), "FC03 read holding regs", 0);
            check(modbus_read_input_registers(ctx, 0, 10, regs), "FC04 read input regs", 0);
            check(modbus_write_bit(ctx, 5, round % 2 == 0), "FC05 write single coil", 0);
            check(modbus_write_register(ctx, 1, (uint16_t)(1234 + round)), "FC06 write single reg", 0);
            check(modbus_write_bits(ctx, 10, 10, coil_pattern), "FC15 write multiple coils", 0);
            uint16_t wr[4] = {11, 22, 33, (uint16_t)(44 + round)};
            check(modbus_write_registers(ctx, 20, 4, wr), "FC16 write multiple regs", 0);
            uint16_t rw[2] = {0xBEEF, (uint16_t)round};
            check(modbus_write_and_read_registers(ctx, 30, 2, rw, 20, 4, regs),
                  "FC23 read/write multiple", 0);
            check(modbus_mask_write_register(ctx, 2, 0x00F2, 0x0025), "FC22 mask write register", 0);
            check(modbus_report_slave_id(ctx, (int)sizeof id, id), "FC17 report server id", 0);
            check(modbus_read_registers(ctx, 500, 4, regs), "FC03 illegal address", 1);
            usleep(100 * 1000);
        }
    }

    if (unknown_unit > 0) {
        modbus_set_slave(ctx, unknown_unit);
        fprintf(stderr, "unit %d (not served)\n", unknown_unit);
        check(modbus_read_registers(ctx, 0, 2, regs), "FC03 unknown unit id", 1);
    }

    modbus_close(ctx);
    modbus_free(ctx);
    fprintf(stderr, "libmodbus client done, %d unexpected failure(s)\n", failures);
    return failures ? 2 : 0;
}
