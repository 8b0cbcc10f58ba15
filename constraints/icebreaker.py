"""iCEBreaker: the break-off PMOD (LEDs 2-6, buttons 1-3) is on the board as
shipped; amaranth-boards lists it apart. Its LEDs 2 and 3 show UART receive
and transmit activity."""

from amaranth_boards.icebreaker import ICEBreakerPlatform

RESOURCES = ICEBreakerPlatform.break_off_pmod
