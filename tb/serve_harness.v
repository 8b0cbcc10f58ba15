// The top level that tb/serve.py runs for the host driver's simulator
// backends (vtpu.driver.VerilatorBackend): the exported vTPU (vtpu_top) fed from a stimulus
// memory, its answers written to a response log, so the simulator runs a
// whole batch without a Python callback per clock.
//
// A batch: the server writes the command bytes it has from the host to the
// stimulus file (one hex byte a line), sets length (bytes to offer) and
// expect_finals (final answers owed: response frames without the MORE flag,
// counted from this batch's start), and toggles go (a batch starts at the
// first clock edge that sees go differ from the last one it started on). The
// harness reads the file, offers byte after byte on i, takes every answer
// byte on o (o.ready is always high while busy), writes each to the response
// file, and drops busy once every command byte is in and expect_finals final
// answers are out -- or when no answer byte has come for idle_limit clocks
// (a range walk that stays silent, or a DUT that stops taking bytes: the
// server then runs another batch with the bytes not taken yet, so simulated
// time goes on while an answer is owed).
//
// The final answers are counted by a response-frame parser (sync 0x5A, STAT
// with MORE in bit 7, TAG, LEN, LEN payload bytes, CRC): the DUT's answers
// are well formed, so it never needs to resynchronise. The server counts the
// same bytes itself, so this counter only decides when a batch may stop.
//
// File names: +vtpu_stimulus=PATH and +vtpu_responses=PATH (plusargs).
module vtpu_serve_harness #(
    parameter DEPTH = 262144            // stimulus bytes a batch can hold
) (
    input             clk,
    input             rst,
    input             go,
    input      [31:0] length,
    input      [31:0] expect_finals,
    input      [31:0] idle_limit,
    output reg        busy,
    output reg [31:0] clocks,           // clocks the batch took
    output reg [31:0] received,         // answer bytes written
    output reg [31:0] finals,           // final answers among them
    output reg [31:0] sent              // command bytes the DUT took
);
    reg [7:0] stimulus [0:DEPTH-1];
    reg [31:0] idle;
    reg started;                        // go as of the last batch started
    reg [2:0] state;                    // the response parser: 0 hunt, 1 stat, 2 tag,
    reg more;                           // 3 len, 4 payload, 5 crc
    reg [7:0] left;
    integer responses;
    reg [8*1024-1:0] stimulus_file, responses_file;

    initial begin
        if (!$value$plusargs("vtpu_stimulus=%s", stimulus_file)) stimulus_file = "stimulus.hex";
        if (!$value$plusargs("vtpu_responses=%s", responses_file)) responses_file = "responses.hex";
        busy = 0;
        started = 0;
        responses = 0;
        state = 0;
        finals = 0;
    end

    wire       i_valid = busy && sent < length;
    wire [7:0] i_payload = stimulus[sent[17:0]];
    wire       i_ready;
    wire       o_valid;
    wire [7:0] o_payload;
    wire       o_ready = busy;

    vtpu_top dut (
        .clk(clk), .rst(rst),
        .i__valid(i_valid), .i__payload(i_payload), .i__ready(i_ready),
        .o__valid(o_valid), .o__payload(o_payload), .o__ready(o_ready)
    );

    always @(posedge clk) begin
        if (go != started) begin
            started <= go;
            $readmemh(stimulus_file, stimulus);
            responses = $fopen(responses_file, "w");
            busy <= 1;
            sent <= 0;
            idle <= 0;
            clocks <= 0;
            received <= 0;
            finals <= 0;
        end else if (busy) begin
            clocks <= clocks + 1;
            if (i_valid && i_ready)
                sent <= sent + 1;
            if (o_valid) begin
                $fwrite(responses, "%h\n", o_payload);
                received <= received + 1;
                idle <= 0;
                case (state)
                    0: if (o_payload == 8'h5A) state <= 1;
                    1: begin more <= o_payload[7]; state <= 2; end
                    2: state <= 3;
                    3: begin left <= o_payload; state <= (o_payload == 0) ? 5 : 4; end
                    4: begin left <= left - 1; if (left == 1) state <= 5; end
                    default: begin
                        if (!more) finals <= finals + 1;
                        state <= 0;
                    end
                endcase
            end else
                idle <= idle + 1;
            if ((sent >= length && finals >= expect_finals) || idle >= idle_limit) begin
                busy <= 0;
                $fclose(responses);
            end
        end
    end
endmodule
