"""The loaded order book (:class:`OrderBook`) and the row checks every loader applies.

Conventions, whatever the source format:

* prices in the quote currency (LOBSTER's dollars x 10000 are divided back), sizes in shares or
  contracts, times as float seconds (LOBSTER: seconds after midnight);
* an **empty level** (LOBSTER's dummy price +-9999999999 with size 0, or an empty/NaN price with
  size 0 or empty in the snapshot layout) is stored as price ``NaN`` and size ``0``; empty levels
  may only follow the non-empty ones of their side;
* trades, when known, are stored once, each with the index of the first book row that already
  reflects it (``trade_row``) and its aggressor side (+1 buyer-initiated: it lifted asks; -1
  seller-initiated: it hit bids).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

ON_ERROR = ("raise", "skip")


class BookDataError(ValueError):
    """A data file is malformed; the message names the file, the line and the problem."""


@dataclass(frozen=True)
class OrderBook:
    """An L2 order book as a sequence of states, plus the trades between them.

    Attributes:
        time: (n_rows,) seconds, non-decreasing. For LOBSTER, seconds after midnight; for a
            LOBSTER orderbook file read without its message file, the event index (``time_unit``
            is then ``"events"``).
        bid_prices, bid_sizes, ask_prices, ask_sizes: (n_rows, n_levels) float64, best level
            first. Empty levels: price NaN, size 0.
        trade_row, trade_price, trade_size, trade_side: the trades (executions), in time order:
            the first book row that reflects each trade, its price, size and aggressor side
            (+1 buy, -1 sell). ``None`` when the source has no trades or messages.
        messages: the LOBSTER message file as a DataFrame (time, type, order_id, size, price,
            direction), prices in dollars, aligned with the book rows; else ``None``.
        source: where the book came from (a path, or a description).
        time_unit: ``"seconds"`` or ``"events"``.
        n_skipped: rows dropped by ``on_error="skip"`` (0 with the default ``"raise"``).
        n_skipped_trades: executions dropped with those rows (LOBSTER: a dropped event's
            execution, see :func:`check_rows`); trades from a trades file are never dropped.
        skipped_lines: file lines (1-based, header counted) of the rows dropped.
        lines: (n_rows,) int64, the file line (1-based, header counted) each row was read from,
            for messages about a row; ``None`` for a book built from arrays.
        recv_time: (n_rows,) seconds on the clock of ``time``, when each row was received (a
            second clock, e.g. the ``local_timestamp`` of a snapshot file): finite, never
            before the row's ``time`` and non-decreasing. ``None`` when the data has one clock.
            Replay's ``feed_latency="data"`` shows the agent the book as received.
    """

    time: NDArray[np.float64]
    bid_prices: NDArray[np.float64]
    bid_sizes: NDArray[np.float64]
    ask_prices: NDArray[np.float64]
    ask_sizes: NDArray[np.float64]
    trade_row: NDArray[np.int64] | None = None
    trade_price: NDArray[np.float64] | None = None
    trade_size: NDArray[np.float64] | None = None
    trade_side: NDArray[np.float64] | None = None
    messages: Any = None
    source: str = "<memory>"
    time_unit: str = "seconds"
    n_skipped: int = 0
    skipped_lines: tuple[int, ...] = field(default=(), repr=False)
    n_skipped_trades: int = 0
    lines: NDArray[np.int64] | None = field(default=None, repr=False)
    recv_time: NDArray[np.float64] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        shape = self.bid_prices.shape
        if len(shape) != 2 or shape[0] < 1 or shape[1] < 1:
            raise BookDataError(f"{self.source}: the book needs >= 1 row and >= 1 level")
        for name in ("bid_sizes", "ask_prices", "ask_sizes"):
            if getattr(self, name).shape != shape:
                raise BookDataError(f"{self.source}: {name} has shape {getattr(self, name).shape}")
        if self.time.shape != (shape[0],):
            raise BookDataError(f"{self.source}: time has shape {self.time.shape}")
        if self.lines is not None and self.lines.shape != (shape[0],):
            raise BookDataError(f"{self.source}: lines has shape {self.lines.shape}")
        if self.time_unit not in ("seconds", "events"):
            raise BookDataError(f"{self.source}: unknown time_unit {self.time_unit!r}")
        if self.recv_time is not None:
            self._check_recv_time()

    def _check_recv_time(self) -> None:
        r = self.recv_time
        assert r is not None
        if r.shape != self.time.shape:
            raise BookDataError(
                f"{self.source}: recv_time has shape {r.shape}, time {self.time.shape}"
            )
        if self.time_unit != "seconds":
            raise BookDataError(f"{self.source}: recv_time needs time in seconds, not events")

        def where(k: int) -> str:
            return f"line {int(self.lines[k])}" if self.lines is not None else f"row {k}"

        bad = ~np.isfinite(r)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise BookDataError(f"{self.source}: {where(k)}: receive time {r[k]!r} is not finite")
        early = r < self.time
        if early.any():
            k = int(np.flatnonzero(early)[0])
            raise BookDataError(
                f"{self.source}: {where(k)}: received at {r[k]!r}, before its exchange time "
                f"{self.time[k]!r} (clocks out of step: shift the receive times, or drop such "
                "rows with on_error='skip')"
            )
        back = np.diff(r) < 0
        if back.any():
            k = int(np.flatnonzero(back)[0]) + 1
            raise BookDataError(
                f"{self.source}: {where(k)}: receive time {r[k]!r} is before the previous row's "
                f"{r[k - 1]!r}; receive times must be non-decreasing"
            )

    @property
    def n_rows(self) -> int:
        return int(self.time.shape[0])

    @property
    def n_levels(self) -> int:
        return int(self.bid_prices.shape[1])

    @property
    def has_trades(self) -> bool:
        return self.trade_row is not None

    @property
    def mid(self) -> NDArray[np.float64]:
        return 0.5 * (self.bid_prices[:, 0] + self.ask_prices[:, 0])

    @property
    def spread(self) -> NDArray[np.float64]:
        return self.ask_prices[:, 0] - self.bid_prices[:, 0]

    def imbalance(self, levels: int = 1) -> NDArray[np.float64]:
        """(bid size - ask size) / (total + 1e-9) over the first ``levels`` levels, per row."""
        b = self.bid_sizes[:, :levels].sum(axis=1)
        a = self.ask_sizes[:, :levels].sum(axis=1)
        return (b - a) / (b + a + 1e-9)

    @classmethod
    def from_arrays(
        cls,
        time: Any,
        bid_prices: Any,
        bid_sizes: Any,
        ask_prices: Any,
        ask_sizes: Any,
        trades: dict[str, Any] | None = None,
        source: str = "<memory>",
        on_error: str = "raise",
        recv_time: Any = None,
    ) -> OrderBook:
        """A validated book from arrays (empty levels: NaN price, 0 size).

        ``trades``: optional dict of arrays ``time``, ``price``, ``size``, ``side`` (+1/-1).
        ``recv_time``: optional receive time of each row (see the class docstring).
        Rows are checked by :func:`check_rows` (messages name row k as "line k + 1"). The book
        holds copies: it never shares memory with the arrays passed, nor changes them.
        """
        arrays = [np.asarray(x, dtype=np.float64) for x in (bid_prices, bid_sizes)]
        arrays += [np.asarray(x, dtype=np.float64) for x in (ask_prices, ask_sizes)]
        t = np.asarray(time, dtype=np.float64)
        lines = np.arange(t.shape[0]) + 1
        bp, bs, ap, asz = arrays
        recv = None if recv_time is None else np.asarray(recv_time, dtype=np.float64)
        if recv is not None and recv.shape != t.shape:
            raise BookDataError(f"{source}: recv_time has shape {recv.shape}, time {t.shape}")
        extra = recv_time_problems(t, recv) if recv is not None else []
        keep, skipped = check_rows(t, bp, bs, ap, asz, source, lines, on_error, extra)
        t = t[keep]  # boolean indexing: copies, never views of the caller's arrays
        bp, bs, ap, asz = (x[keep] for x in arrays)
        trade_fields = attach_trades(t, trades, source) if trades is not None else {}
        recv = None if recv is None else recv[keep]
        return cls(t, bp, bs, ap, asz, source=source, recv_time=recv, **trade_fields, **skipped)


def recv_time_problems(
    time: NDArray[np.float64], recv: NDArray[np.float64]
) -> list[tuple[NDArray[np.bool_], str]]:
    """Row checks of a receive clock (for :func:`check_rows`, so ``on_error="skip"`` drops such
    rows): finite, and not before the exchange time. Order is checked on the rows kept
    (:class:`OrderBook`)."""
    with np.errstate(invalid="ignore"):
        early = recv < time
    return [
        (~np.isfinite(recv), "receive time is not finite"),
        (
            early,
            "received before its exchange time (clocks out of step: shift the receive times, "
            "or drop such rows with on_error='skip')",
        ),
    ]


def _fail_or_mark(
    bad: NDArray[np.bool_],
    why: str,
    source: str,
    lines: NDArray[np.int64],
    on_error: str,
    reasons: dict[int, str],
) -> None:
    idx = np.flatnonzero(bad)
    if idx.size == 0:
        return
    if on_error == "raise":
        more = f" (and {idx.size - 1} more rows)" if idx.size > 1 else ""
        raise BookDataError(f"{source}: line {int(lines[idx[0]])}: {why}{more}")
    for k in idx[:1000]:
        reasons.setdefault(int(k), why)


def check_rows(
    time: NDArray[np.float64],
    bid_prices: NDArray[np.float64],
    bid_sizes: NDArray[np.float64],
    ask_prices: NDArray[np.float64],
    ask_sizes: NDArray[np.float64],
    source: str,
    lines: NDArray[np.int64],
    on_error: str,
    extra_bad: Sequence[tuple[NDArray[np.bool_], str]] = (),
    executions: NDArray[np.bool_] | None = None,
    then: Callable[[NDArray[np.bool_]], Sequence[tuple[NDArray[np.bool_], str]]] | None = None,
) -> tuple[NDArray[np.bool_], dict[str, Any]]:
    """Check every row; raise on the first bad one, or return (rows kept, skip report).

    Checks, in order: problems found by the caller (``extra_bad``), NaN where a value is
    required, sizes <= 0 on a priced level, an empty level before a non-empty one, prices out of
    order within a side, a one-sided book (no level 1 on a side), a crossed or locked book, time
    going backwards (against the latest earlier time kept); then the caller's checks that need
    to know which rows are good: ``then(good)`` returns more (rows, problem) pairs, or raises
    (LOBSTER's executions, checked against the last good row before them).

    ``on_error="raise"``: the first bad row of the first failing check raises
    :class:`BookDataError` naming ``source``, its line and the problem. ``"skip"``: bad rows
    are dropped whole; a warning gives their count and the first reasons, and the report
    (``n_skipped``, ``skipped_lines``, ``n_skipped_trades``) goes into the OrderBook.
    ``executions`` marks the rows that carry an execution (LOBSTER types 4 and 5): an
    execution on a dropped row is dropped with it, and the warning and ``n_skipped_trades``
    count them, so a skip never loses trades silently.
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
    n = time.shape[0]
    reasons: dict[int, str] = {}
    for mask, why in extra_bad:
        _fail_or_mark(mask, why, source, lines, on_error, reasons)
    bad = np.zeros(n, dtype=bool)
    for mask, _ in extra_bad:
        bad |= mask

    def mark(mask: NDArray[np.bool_] | np.bool_, why: str) -> None:
        nonlocal bad
        mask = mask & ~bad
        _fail_or_mark(mask, why, source, lines, on_error, reasons)
        bad |= mask

    mark(np.isnan(time), "timestamp is missing (NaN)")
    for side, prices, sizes in (("bid", bid_prices, bid_sizes), ("ask", ask_prices, ask_sizes)):
        priced = ~np.isnan(prices)
        mark(np.isnan(sizes).any(axis=1) & priced.any(axis=1), f"{side} size is NaN")
        sizes0 = np.nan_to_num(sizes)
        mark((priced & (sizes0 <= 0)).any(axis=1), f"{side} level with a price has size <= 0")
        mark((~priced & (sizes0 != 0)).any(axis=1), f"{side} size without a price (NaN)")
        if prices.shape[1] > 1:
            gap = (~priced[:, :-1] & priced[:, 1:]).any(axis=1)
            mark(gap, f"{side} levels out of order: an empty level before a non-empty one")
            step = np.diff(prices, axis=1)
            wrong = (step >= 0) if side == "bid" else (step <= 0)
            mark(
                (wrong & priced[:, 1:]).any(axis=1),
                f"{side} levels out of order: prices must be strictly "
                f"{'decreasing' if side == 'bid' else 'increasing'}",
            )
        mark(~priced[:, 0], f"one-sided book: no {side} at level 1")
    with np.errstate(invalid="ignore"):
        crossed = bid_prices[:, 0] > ask_prices[:, 0]
        locked = bid_prices[:, 0] == ask_prices[:, 0]
    mark(crossed, "crossed book: best bid above best ask")
    mark(locked, "locked book: best bid equals best ask")
    # time going backwards, compared with the latest time among the earlier rows still kept
    t = np.where(bad, -np.inf, time)
    running = np.maximum.accumulate(t)
    back = np.zeros(n, dtype=bool)
    back[1:] = time[1:] < running[:-1]
    if back.any() and on_error == "skip":  # re-run serially only when needed
        latest = -np.inf
        for k in range(n):
            if bad[k]:
                continue
            if time[k] < latest:
                back[k] = True
            else:
                back[k] = False
                latest = time[k]
    mark(back, "timestamp goes backwards")
    if then is not None:
        for mask, why in then(~bad):
            mark(mask, why)
    keep = ~bad
    skipped = int(bad.sum())
    lost = int((bad & executions).sum()) if executions is not None else 0
    if skipped:
        first = sorted(reasons.items())[:3]
        detail = "; ".join(f"line {int(lines[k])}: {why}" for k, why in first)
        trades = (
            f", with the {lost} execution(s) on them (not replayed)"
            if executions is not None
            else ""
        )
        warnings.warn(
            f"{source}: skipped {skipped} bad row(s) of {n} (on_error='skip'){trades}; "
            f"first: {detail}",
            stacklevel=3,
        )
    report = {
        "n_skipped": skipped,
        "skipped_lines": tuple(int(x) for x in lines[bad]),
        "n_skipped_trades": lost,
    }
    return keep, report


def attach_trades(time: NDArray[np.float64], trades: dict[str, Any], source: str) -> dict[str, Any]:
    """Trades (time, price, size, side) as OrderBook fields, each tied to a book row.

    A trade at time t is reflected from the first book row with time >= t on (the conservative
    choice: the book state just before it is the last one strictly earlier).
    """
    tt = np.asarray(trades["time"], dtype=np.float64)
    price = np.asarray(trades["price"], dtype=np.float64)
    size = np.asarray(trades["size"], dtype=np.float64)
    side = np.asarray(trades["side"], dtype=np.float64)
    order = np.argsort(tt, kind="stable")
    tt, price, size, side = tt[order], price[order], size[order], side[order]
    rows = np.searchsorted(time, tt, side="left").astype(np.int64)
    inside = rows < time.shape[0]
    if not inside.all():
        warnings.warn(
            f"{source}: {int((~inside).sum())} trade(s) after the last book row are ignored",
            stacklevel=3,
        )
    return {
        "trade_row": rows[inside],
        "trade_price": price[inside],
        "trade_size": size[inside],
        "trade_side": side[inside],
    }
