"""CuckooSequencer (the sentron on the cuckoo memory, every board's): the
handshake on ``o``, one instruction at a time and pipelined; and its hash
index's (``HashIndex``, one memory of rows or two banks) on its own.

Small: 8 entries in 4 buckets of 2 slots, one relocation at most, 2-bit
components, 8-bit values, every instruction a sentron executes (the range
walks through the Z-order index included; the HX8K's form, which works on
the instruction where its sender holds it, scans its store and hashes a bit
a clock, with the walk through ``ZScan``; and the iCEBreaker's, the same
but for the range instructions, its entries in 64-bit words at their index
slots' places, ``spram``, 8 of them in 4 buckets of 2 slots). The answers themselves are
checked against the model in simulation (tests/rtl/sentron/test_cuckoo_sequencer.py,
``make sim``'s cuckoo phase).
"""

from rtl.sentron.cuckoo_sequencer import CuckooSequencer
from rtl.sentron.execute import RANGE_OPS, SENTRON_OPS
from rtl.sentron.hash_index import HashIndex

from .common import Property, stream_handshake

SMALL = dict(entries=8, buckets=4, slots=2, max_moves=1, width=2, value_width=8, index_queue=16)
# the index alone: two moves searched
INDEX = dict(buckets=4, slots=2, entry_bits=3, max_moves=2)


PROPERTIES = [
    Property("cuckoo_sequencer_handshake", stream_handshake(lambda: CuckooSequencer(**SMALL)),
             "prove", 3, "CuckooSequencer's o follows the stream rules when i does"),
    Property("cuckoo_sequencer_pipelined_handshake",
             stream_handshake(lambda: CuckooSequencer(pipelined=True, **SMALL)), "prove", 3,
             "CuckooSequencer(pipelined=True)'s o follows the stream rules when i does"),
    Property("cuckoo_sequencer_held_handshake",
             stream_handshake(lambda: CuckooSequencer(hold=True, bit_serial=True, scan=True,
                                                      **SMALL)), "prove", 3,
             "CuckooSequencer(hold=True, bit_serial=True, scan=True) (the HX8K's): o follows "
             "the stream rules when i does"),
    Property("cuckoo_sequencer_serial_handshake",
             stream_handshake(lambda: CuckooSequencer(spram=True, hold=True, bit_serial=True,
                                                      ops=SENTRON_OPS - RANGE_OPS, **SMALL)),
             "prove", 3,
             "CuckooSequencer(spram=True, hold=True, bit_serial=True) (the iCEBreaker's): o "
             "follows the stream rules when i does"),
    Property("hash_index_handshake", stream_handshake(lambda: HashIndex(**INDEX)), "prove", 3,
             "HashIndex's o follows the stream rules when i does (two moves searched)"),
    Property("hash_index_banked_handshake",
             stream_handshake(lambda: HashIndex(probe=True, **INDEX)), "prove", 3,
             "HashIndex(probe=True)'s o follows the stream rules when i does"),
    Property("hash_index_slotted_handshake",
             stream_handshake(lambda: HashIndex(buckets=4, slots=2, max_moves=1, slotted=True)),
             "prove", 3, "HashIndex(slotted=True)'s o follows the stream rules when i does"),
]
