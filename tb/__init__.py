"""cocotb testbenches, scoreboard and coverage for the vTPU."""
