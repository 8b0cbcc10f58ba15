"""Formal proofs (SymbiYosys, smtbmc with yices) of the gateware's contracts.

Each ``spec_*.py`` module lists its properties in ``PROPERTIES``
(``tb.formal.common.Property``); ``python -m tb.formal.run`` proves them
(``make formal``). See ``tb/formal/README.md``.
"""
