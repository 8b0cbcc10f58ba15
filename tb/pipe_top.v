// What tb/pipe_harness.cpp drives: the exported vTPU with its reset made
// inside, from a counter, instead of a port. Verilator re-evaluates all logic
// that depends on a top-level input on every eval; with rst an input that
// was nearly all of it.
module vtpu_pipe_top (
    input        clk,
    input        i_valid,
    input  [7:0] i_payload,
    output       i_ready,
    output       o_valid,
    output [7:0] o_payload
);
    reg [1:0] reset_clocks = 2'd3;      // reset held for the first three clocks
    wire rst = reset_clocks != 0;
    always @(posedge clk)
        if (rst)
            reset_clocks <= reset_clocks - 2'd1;

    vtpu_top core (
        .clk(clk), .rst(rst),
        .i__valid(i_valid), .i__payload(i_payload), .i__ready(i_ready),
        .o__valid(o_valid), .o__payload(o_payload), .o__ready(1'b1)
    );
endmodule
