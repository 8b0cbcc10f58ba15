"""Backends: anything that takes command frame bytes and answers response bytes.

All backends speak the same frames (``vtpu.isa``), so the same program gives
the same answers on each. ``open_backend(name, ...)`` picks one by name.
"""

from .model import Model

__all__ = ["Backend", "ModelBackend", "open_backend", "BACKENDS"]


class Backend:
    """``transact(frames) -> bytes``: send command frames, return every response."""

    name = "?"

    def transact(self, frames: bytes) -> bytes:
        raise NotImplementedError  # pragma: no cover - interface

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ModelBackend(Backend):
    """The golden model in this process: needs nothing."""

    name = "model"

    def __init__(self, sets=64, ways=4, sentrons=1, **model_args):
        self.model = Model(sets=sets, ways=ways, sentrons=sentrons, **model_args)

    def transact(self, frames):
        return self.model.execute(frames)


BACKENDS = {"model": ModelBackend}


def open_backend(name="model", *, port=None, **geometry):
    try:
        cls = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}") from None
    return cls(port=port, **geometry) if port is not None else cls(**geometry)
