"""Real order books: LOBSTER and generic L2 snapshot files, loaded and validated.

``load_book(path)`` picks the reader; ``load_lobster`` and ``load_snapshots`` read one format;
``fetch_lobster_sample`` downloads and caches LOBSTER's free samples. All return an
:class:`OrderBook`, which ``gym.make("mm_env/Replay-v0", data=...)`` replays.
"""

from mm_env.data.book import BookDataError, OrderBook
from mm_env.data.fetch import fetch_lobster_sample, get_data_home
from mm_env.data.loaders import (
    load_book,
    load_lobster,
    load_snapshots,
    load_trades,
    snapshot_columns,
)

__all__ = [
    "BookDataError",
    "OrderBook",
    "fetch_lobster_sample",
    "get_data_home",
    "load_book",
    "load_lobster",
    "load_snapshots",
    "load_trades",
    "snapshot_columns",
]
