// The cross-check's top level: the exported vTPU (vtpu_top) fed from a
// stimulus memory, its answers written to a response log, so the simulator
// runs a whole batch of instructions without a Python callback per clock.
//
// A batch: cocotb writes the command bytes to the stimulus file (one hex byte
// a line), sets length, expect_bytes, ready_every and idle_limit, and pulses
// load for one clock. The harness reads the file, offers byte after byte on
// i (i.valid never depends on i.ready), takes answer bytes on o one clock in
// ready_every, writes each to the response file, and drops busy once every
// command byte is in and expect_bytes answer bytes are out -- or when no
// answer byte has come for idle_limit clocks (a DUT that stops answering,
// or one that answers less than the model). A byte the DUT sends that is X
// is written as "xx", which the scoreboard reports.
//
// File names: +vtpu_stimulus=PATH and +vtpu_responses=PATH (plusargs).
module vtpu_harness #(
    parameter DEPTH = 262144            // stimulus bytes a batch can hold
) (
    input             clk,
    input             rst,
    input             load,
    input      [31:0] length,
    input      [31:0] expect_bytes,
    input      [7:0]  ready_every,
    input      [31:0] idle_limit,
    output reg        busy,
    output reg [31:0] clocks,           // clocks the batch took
    output reg [31:0] received          // answer bytes written
);
    reg [7:0] stimulus [0:DEPTH-1];
    reg [31:0] sent;                    // command bytes taken by the DUT
    reg [7:0] phase;                    // o.ready when 0
    reg [31:0] idle;
    integer responses;
    reg [8*1024-1:0] stimulus_file, responses_file;

    initial begin
        if (!$value$plusargs("vtpu_stimulus=%s", stimulus_file)) stimulus_file = "stimulus.hex";
        if (!$value$plusargs("vtpu_responses=%s", responses_file)) responses_file = "responses.hex";
        busy = 0;
        responses = 0;
    end

    wire       i_valid = busy && sent < length;
    wire [7:0] i_payload = stimulus[sent];      // sent < length <= DEPTH (tb checks)
    wire       i_ready;
    wire       o_valid;
    wire [7:0] o_payload;
    wire       o_ready = busy && phase == 0;

    vtpu_top dut (
        .clk(clk), .rst(rst),
        .i__valid(i_valid), .i__payload(i_payload), .i__ready(i_ready),
        .o__valid(o_valid), .o__payload(o_payload), .o__ready(o_ready)
    );

    always @(posedge clk) begin
        if (load) begin
            $readmemh(stimulus_file, stimulus);
            responses = $fopen(responses_file, "w");
            busy <= 1;
            sent <= 0;
            phase <= 0;
            idle <= 0;
            clocks <= 0;
            received <= 0;
        end else if (busy) begin
            clocks <= clocks + 1;
            if (i_valid && i_ready)
                sent <= sent + 1;
            phase <= (phase + 1 >= ready_every) ? 0 : phase + 1;
            if (o_valid && o_ready) begin
                $fwrite(responses, "%h\n", o_payload);
                received <= received + 1;
                idle <= 0;
            end else
                idle <= idle + 1;
            if ((sent >= length && received >= expect_bytes) || idle >= idle_limit) begin
                busy <= 0;
                $fclose(responses);
            end
        end
    end
endmodule
