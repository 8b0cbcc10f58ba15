"""vTPU gateware (Amaranth 0.5). Every constant comes from ``vtpu.isa``."""
