"""Real order books: LOBSTER and generic L2 snapshot files, loaded and validated.

``load_book(path)`` picks the reader; ``load_lobster`` and ``load_snapshots`` read one format;
``fetch_lobster_sample`` downloads and caches LOBSTER's free samples. All return an
:class:`OrderBook`, which ``gym.make("mm_env/Replay-v0", data=...)`` replays.
``to_hftbacktest(book)`` / ``from_hftbacktest(events)`` convert to and from hftbacktest's event
array (NumPy only; hftbacktest itself is needed only to run it, ``pip install 'mm_env[xcheck]'``).

:class:`OrderBook` and :class:`BookDataError` need only NumPy. The loaders need pandas (and
pyarrow for Parquet), ``pip install 'mm_env[data]'``; they are imported on first use, so
``import mm_env`` (and ``import mm_env.data``) never imports pandas, pyarrow or scipy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mm_env.data.book import BookDataError, OrderBook

if TYPE_CHECKING:
    from mm_env.data.fetch import fetch_lobster_sample, get_data_home
    from mm_env.data.hftbacktest import from_hftbacktest, to_hftbacktest
    from mm_env.data.loaders import (
        load_book,
        load_lobster,
        load_snapshots,
        load_trades,
        snapshot_columns,
    )

#: the names resolved on first use, and the module (pandas-free or not) each comes from
_LAZY = {
    "fetch_lobster_sample": "mm_env.data.fetch",
    "from_hftbacktest": "mm_env.data.hftbacktest",
    "to_hftbacktest": "mm_env.data.hftbacktest",
    "get_data_home": "mm_env.data.fetch",
    "load_book": "mm_env.data.loaders",
    "load_lobster": "mm_env.data.loaders",
    "load_snapshots": "mm_env.data.loaders",
    "load_trades": "mm_env.data.loaders",
    "snapshot_columns": "mm_env.data.loaders",
}

__all__ = [
    "BookDataError",
    "OrderBook",
    "fetch_lobster_sample",
    "from_hftbacktest",
    "get_data_home",
    "load_book",
    "load_lobster",
    "load_snapshots",
    "load_trades",
    "snapshot_columns",
    "to_hftbacktest",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
