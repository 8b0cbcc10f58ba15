// make sim's instruction-level check: the sentron array (vtpu_array, exported
// on its own, without the frame decoder and encoder) fed one decoded
// instruction a clock from a stimulus memory, its answers written to a log.
// The byte-serial link delivers an instruction every twenty clocks or more,
// so only here do instructions follow each other through the pipeline one
// clock apart: what the sentrons' forwarding of missed writes exists for.
//
// A batch works as in stream_harness.v: cocotb writes the command words (hex,
// one a line) to +vtpu_stimulus, sets length (words), expect_words,
// ready_every and idle_limit, and pulses load; busy drops once every word is
// in and expect_words answers are out, or after idle_limit clocks without an
// answer. Answers go to +vtpu_responses, one hex word a line.
module vtpu_array_harness #(
    parameter CMD_BITS = 636,
    parameter RSP_BITS = 421,
    parameter DEPTH = 16384
) (
    input             clk,
    input             rst,
    input             load,
    input      [31:0] length,
    input      [31:0] expect_words,
    input      [7:0]  ready_every,
    input      [31:0] idle_limit,
    output reg        busy,
    output reg [31:0] clocks,
    output reg [31:0] received
);
    reg [CMD_BITS-1:0] stimulus [0:DEPTH-1];
    reg [31:0] sent;
    reg [7:0] phase;
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
    wire [CMD_BITS-1:0] i_payload = stimulus[sent];   // sent < length <= DEPTH (tb checks)
    wire                i_ready;
    wire                o_valid;
    wire [RSP_BITS-1:0] o_payload;
    wire                o_ready = busy && phase == 0;

    vtpu_array dut (
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
            if ((sent >= length && received >= expect_words) || idle >= idle_limit) begin
                busy <= 0;
                $fclose(responses);
            end
        end
    end
endmodule
