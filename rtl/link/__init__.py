"""The host link: bytes in and out of the vTPU.

    RX pin -> uart -> FIFO -> frame_decoder -> [mailbox] -> (array of sentrons)
    TX pin <- uart <- FIFO <- response_encoder <- (answers)

==========================  ==================================================
``uart``                    8N1 receiver and transmitter
``uart_link``               pins -> UART -> FIFOs -> a byte-stream core and back
``frame_decoder``           command frames -> decoded instructions (resyncs on garbage)
``response_encoder``        answers -> response frames
``crc``                     the frames' CRC-8, a byte a clock
``mailbox``                 a held payload across clocks, by handshake
``credit_fifo``             an answer FIFO across clocks for a writer that counts credits
``skid_buffer``             a register slice with a registered ready
``stream_register``         a register slice with no logic in front of its data
==========================  ==================================================
"""
