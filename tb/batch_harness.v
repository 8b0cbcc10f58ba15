// The cross-checks' top level: a core fed from a stimulus memory, its answers
// written to a log, so the simulator runs a whole batch without a Python
// callback per clock (tb/batch.py drives it).
//
// The core is `VTPU_DUT (a define): vtpu_top, the exported vTPU, fed a command
// byte a clock (make sim), or vtpu_array, the sentron array alone, fed a
// decoded instruction a clock (make sim's array check: through the byte link
// an instruction reaches the array every twenty clocks or more, so only there
// do instructions follow each other through the pipeline a clock apart).
// CMD_BITS and RSP_BITS are its stream widths.
//
// A batch: cocotb writes the stimulus words to the stimulus file (hex, one a
// line), sets length, expected, ready_every and idle_limit, and pulses load
// for one clock. The harness reads the file, offers word after word on i
// (i.valid never depends on i.ready), takes answers on o one clock in
// ready_every, writes each to the response file, and drops busy once every
// word is in and `expected` answers are out -- or when no answer has come for
// idle_limit clocks (a core that stops answering, or one that answers less
// than the model). An answer with X bits is written with x digits, which the
// testbench reports.
//
// File names: +vtpu_stimulus=PATH and +vtpu_responses=PATH (plusargs).
`ifndef VTPU_DUT
`define VTPU_DUT vtpu_top
`endif
module vtpu_harness #(
    parameter CMD_BITS = 8,
    parameter RSP_BITS = 8,
    parameter DEPTH = 262144            // stimulus words a batch can hold
) (
    input             clk,
    input             rst,
    input             load,
    input      [31:0] length,
    input      [31:0] expected,
    input      [7:0]  ready_every,
    input      [31:0] idle_limit,
    output reg        busy,
    output reg [31:0] clocks,           // clocks the batch took
    output reg [31:0] received          // answers written
);
    reg [CMD_BITS-1:0] stimulus [0:DEPTH-1];
    reg [31:0] sent;                    // words taken by the core
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

    wire                i_valid = busy && sent < length;
    wire [CMD_BITS-1:0] i_payload = stimulus[sent];   // sent < length <= DEPTH (tb/batch.py checks)
    wire                i_ready;
    wire                o_valid;
    wire [RSP_BITS-1:0] o_payload;
    wire                o_ready = busy && phase == 0;

    `VTPU_DUT dut (
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
            if ((sent >= length && received >= expected) || idle >= idle_limit) begin
                busy <= 0;
                $fclose(responses);
            end
        end
    end
endmodule
