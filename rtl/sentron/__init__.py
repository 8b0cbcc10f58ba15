"""One sentron: the pipeline that executes instructions on its own table.

    decoded instruction -> hash_unit -> table (block RAM) -> execute -> answer
                                         └─► zindex (Z-order index) -> range walk

==========================  ==================================================
``hash_unit``               the H3 hash stage (set index, owner, CMOE/CROUTE bits)
``table``                   the entry table and the route table, and the folds of
                            writes a row missed in flight
``zorder``                  Z-order (Morton) compares without the interleave, the box test
``zindex``                  the Z-order index: a crit-bit tree over the keys' Morton bits
``zscan``                   the range walk without an index: the store scanned once a hit
``hash_index``              the cuckoo hash index of (tag, entry id) slots
``entry_store``             the entry store in SPRAM's 64-bit words (iCEBreaker)
``cuckoo_sequencer``        the sentron on the cuckoo memory (entry store, hash index)
``multiply``                multiply-high in fabric (CMOE / CROUTE HASH reduction)
``execute``                 the execution units both sequencers share, as functions
``sequencer``               the compact, stalling sequencer (the iCE40 builds)
``pipelined_sequencer``     the sequencer that never stalls (the pipelined ULX3S build)
==========================  ==================================================
"""

from .execute import IMPLEMENTED_OPS, RANGE_OPS, SENTRON_OPS

__all__ = ["IMPLEMENTED_OPS", "RANGE_OPS", "SENTRON_OPS"]
