"""What every chapter's ``TrainConfig.from_params`` shares: a key that is not a field is refused, by name."""

from __future__ import annotations

from dataclasses import fields


def refuse_unknown_keys(config_class, params, exclude=()) -> None:
    """ValueError naming the keys of ``params`` that are not fields of the dataclass ``config_class``.

    A typo in a notebook's parameters or a profile would otherwise be ignored and the run would use the default.
    ``exclude`` names fields that parameters may not set.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Config:
    ...     lr: float = 0.1
    >>> refuse_unknown_keys(Config, {"lr": 0.01, "lr_stpes": [8]})
    Traceback (most recent call last):
    ValueError: unknown Config key(s) ['lr_stpes']; known: ['lr']
    """
    known = {f.name for f in fields(config_class)} - set(exclude)
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"unknown {config_class.__name__} key(s) {unknown}; known: {sorted(known)}")
