// The exported vTPU (vtpu_top, behind tb/pipe_top.v) compiled by Verilator
// into a program that serves the host driver (vtpu.driver.VerilatorBackend)
// over its standard input and output, with no simulator framework and no
// file per batch.
//
// A request: length (u32, little-endian), owed (u32: final answers the host
// expects for these bytes, counted by the host's mirror of the core's frame
// receiver), then length command bytes. The program offers the bytes to the
// core a byte a clock as it takes them, takes every answer byte (o.ready is
// tied high in tb/pipe_top.v), and counts final answers (response frames
// without MORE) as they pass. It stops once every byte is in and owed final
// answers are out: simulated time never stops while an answer is owed.
// Should the core make no progress (no byte in or out) for STALL_LIMIT
// clocks it stops anyway.
//
// The reply: length (u32), clocks (u64: the core's clocks over every batch
// so far), stalled (u8), then length answer bytes.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unistd.h>
#include <vector>

#include "Vvtpu_pipe_top.h"
#include "verilated.h"


static const uint64_t STALL_LIMIT = 10000000;   // clocks without a byte in or out

static bool read_all(void *buffer, size_t size) {
    uint8_t *p = static_cast<uint8_t *>(buffer);
    while (size) {
        ssize_t got = read(0, p, size);
        if (got <= 0)
            return false;
        p += got;
        size -= got;
    }
    return true;
}

static bool write_all(const void *buffer, size_t size) {
    const uint8_t *p = static_cast<const uint8_t *>(buffer);
    while (size) {
        ssize_t put = write(1, p, size);
        if (put <= 0)
            return false;
        p += put;
        size -= put;
    }
    return true;
}

// Counts final answers in the response byte stream: sync 0x5A, STAT (MORE in
// bit 7), TAG, LEN, LEN payload bytes, CRC. The core's answers are well formed.
struct FinalCounter {
    int state = 0;
    bool more = false;
    unsigned left = 0;
    uint64_t finals = 0;

    void feed(uint8_t b) {
        switch (state) {
        case 0: if (b == 0x5A) state = 1; break;
        case 1: more = b & 0x80; state = 2; break;
        case 2: state = 3; break;
        case 3: left = b; state = b ? 4 : 5; break;
        case 4: if (--left == 0) state = 5; break;
        default: if (!more) finals++; state = 0; break;
        }
    }
};

int main(int argc, char **argv) {
    auto context = std::make_unique<VerilatedContext>();
    context->commandArgs(argc, argv);
    auto core = std::make_unique<Vvtpu_pipe_top>(context.get());
    uint64_t clocks = 0;

    // A clock: the rising edge, then the falling edge evaluated together with
    // the next clock's inputs (two evaluations a clock, not three).
    auto tick = [&]() {
        core->clk = 1;
        core->eval();
        core->clk = 0;
    };
    core->clk = 0;
    core->i_valid = 0;
    core->eval();
    for (int i = 0; i < 3; i++) {           // the wrapper's reset (tb/pipe_top.v)
        tick();
        core->eval();
    }

    FinalCounter counter;
    std::vector<uint8_t> commands, answers;
    for (;;) {
        uint32_t header[2];
        if (!read_all(header, sizeof header)) {
            core->final();                     // the host closed the pipe
            return 0;
        }
        commands.resize(header[0]);
        if (!read_all(commands.data(), commands.size()))
            return 1;
        uint64_t want = counter.finals + header[1];
        size_t sent = 0;
        uint64_t idle = 0;
        uint8_t stalled = 0;
        answers.clear();
        while (sent < commands.size() || counter.finals < want) {
            bool offered = sent < commands.size();
            core->i_valid = offered;
            core->i_payload = offered ? commands[sent] : 0;
            core->eval();                      // the handshakes as they stand before the edge
            bool taken = offered && core->i_ready;
            bool out = core->o_valid;
            uint8_t byte = core->o_payload;
            tick();
            clocks++;
            if (taken)
                sent++;
            if (out) {
                answers.push_back(byte);
                counter.feed(byte);
            }
            idle = (taken || out) ? 0 : idle + 1;
            if (idle >= STALL_LIMIT) {
                stalled = 1;
                break;
            }
        }
        core->i_valid = 0;
        uint8_t reply[13];
        uint32_t length = answers.size();
        memcpy(reply, &length, 4);
        memcpy(reply + 4, &clocks, 8);
        reply[12] = stalled;
        if (!write_all(reply, sizeof reply) || !write_all(answers.data(), answers.size()))
            return 1;
    }
}
