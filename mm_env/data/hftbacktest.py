"""A loaded :class:`~mm_env.data.OrderBook` as hftbacktest's event array, and back.

hftbacktest (``pip install 'mm_env[xcheck]'``, tested with 2.4.4) replays a feed stored as a NumPy
structured array of 64-byte events: ``ev`` (a kind in the low bits plus flags), ``exch_ts`` and
``local_ts`` (integer nanoseconds on the exchange's and the receiver's clocks), ``px``, ``qty``,
``order_id``, ``ival``, ``fval``. :func:`to_hftbacktest` writes such an array from a loaded book,
so a user can run the same data through both engines; :func:`from_hftbacktest` reads an L2 array
(depth and trade events) back into an ``OrderBook``.

Modes of :func:`to_hftbacktest`:

* ``"l2"`` (market by price; any book with trades): a ``DEPTH_SNAPSHOT`` event per level of the
  first row, then, for every later row, its trades (those whose ``trade_row`` it is) followed by
  one ``DEPTH`` event per price whose displayed size differs from the row before (size 0: the
  level is gone, including a level that only left the recorded depth). Within a row the
  removals come before the other updates, so no intermediate state is crossed. A trade's side
  flag is its aggressor's (``BUY``: it lifted asks). For hftbacktest's risk-averse and
  probabilistic queue models.
* ``"l3"`` (market by order; LOBSTER with its message file): the orders of the first row, then
  one event per message: a new order (type 1) is ``ADD_ORDER``; a partial cancel (2) a
  ``MODIFY_ORDER`` to the size left; a deletion (3) a ``CANCEL_ORDER``; a visible execution (4)
  a ``TRADE`` (aggressor side) and a ``FILL`` of the resting order (its own side flag) followed
  by the ``MODIFY_ORDER`` or ``CANCEL_ORDER`` that takes the executed size off the book (an
  hftbacktest ``FILL`` does not change the book). Hidden executions (5) are ``TRADE`` events
  only, which hftbacktest's L3 exchange ignores; cross trades (6) and halts (7) emit nothing.
  For hftbacktest's ``l3_fifo_queue_model``.

  Orders resting before the file begins have no ids in it. They are represented by stand-in
  orders (ids from :data:`SYNTHETIC_ID_BASE` up): one per level of the first row, and one
  whenever a row shows more size at a price than the known orders there (a level that comes
  into the recorded depth from beyond it). LOBSTER's files of N levels carry only the messages
  that touch the first N, so an order beyond them can change or go without a message: where
  a row covers a price it is the truth (size we hold too much of comes off the stand-ins, then
  off the newest orders there). A message about an unknown order id takes its size
  off the stand-ins at its price, oldest first. Every row's recorded levels are thus reproduced
  exactly (a test replays the events), but the stand-ins that join later are placed behind the
  orders already known at their price, where the exchange had them ahead: a queue behind such a
  level is shorter than it was. Quotes that join after the stand-in (a touch quote does, the
  level having been visible before it became the best) are unaffected.

``"auto"`` is ``"l3"`` for LOBSTER with messages and ``"l2"`` otherwise.

Timestamps: ``exch_ts`` = the book's time (seconds) x 1e9, rounded, plus ``time_origin_ns`` (e.g.
the epoch nanoseconds of midnight of a LOBSTER file's day; 0 keeps nanoseconds after midnight);
``local_ts = exch_ts + feed_latency`` (seconds, default 0), or, for a book with a receive clock
(:attr:`~mm_env.data.OrderBook.recv_time`), the row's receive time on the same origin. Every
event carries ``EXCH_EVENT`` and ``LOCAL_EVENT``. Trades of the first row are left out: the
first row, given as the snapshot, already reflects them (Replay-v0 does not replay them either).

The dtype and flags are defined here (:data:`EVENT_DTYPE`, ...) so that converting needs only
NumPy; a test checks they equal hftbacktest's. :func:`validate_events` runs hftbacktest's own
``validate_event_order`` when it is installed, else the same check in NumPy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mm_env.data.book import OrderBook

#: hftbacktest's event record (``hftbacktest.types.event_dtype``, aligned: 64 bytes)
EVENT_DTYPE = np.dtype(
    [
        ("ev", "u8"),
        ("exch_ts", "i8"),
        ("local_ts", "i8"),
        ("px", "f8"),
        ("qty", "f8"),
        ("order_id", "u8"),
        ("ival", "i8"),
        ("fval", "f8"),
    ],
    align=True,
)

# event kinds (the low byte of ``ev``) and flags, as in hftbacktest.types
DEPTH_EVENT = 1
TRADE_EVENT = 2
DEPTH_CLEAR_EVENT = 3
DEPTH_SNAPSHOT_EVENT = 4
DEPTH_BBO_EVENT = 5
ADD_ORDER_EVENT = 10
CANCEL_ORDER_EVENT = 11
MODIFY_ORDER_EVENT = 12
FILL_EVENT = 13
EXCH_EVENT = 1 << 31
LOCAL_EVENT = 1 << 30
BUY_EVENT = 1 << 29
SELL_EVENT = 1 << 28
KIND_MASK = 0xFF

#: the first id of the stand-in orders of ``mode="l3"`` (LOBSTER's ids are far below it)
SYNTHETIC_ID_BASE = 1 << 62

MODES = ("auto", "l2", "l3")

_BOTH = EXCH_EVENT | LOCAL_EVENT


def _ns(seconds: NDArray[np.float64]) -> NDArray[np.int64]:
    return np.asarray(np.round(np.asarray(seconds, dtype=np.float64) * 1e9), dtype=np.int64)


def _check_book(book: Any) -> OrderBook:
    if not isinstance(book, OrderBook):
        raise ValueError(f"to_hftbacktest needs an mm_env.data.OrderBook, got {type(book)!r}")
    if book.time_unit != "seconds":
        raise ValueError(
            f"{book.source}: the book has no timestamps (time_unit={book.time_unit!r}: a LOBSTER "
            "orderbook file read without its message file); hftbacktest events need times"
        )
    if not book.has_trades:
        raise ValueError(
            f"{book.source}: the book has no trades; hftbacktest fills quotes on trade events. "
            "Load a snapshot file with its trades file (load_snapshots(path, trades_path)) or "
            "LOBSTER data with its message file"
        )
    return book


def to_hftbacktest(
    book: OrderBook,
    mode: str = "auto",
    *,
    feed_latency: float = 0.0,
    time_origin_ns: int = 0,
    hidden_trades: bool = True,
    validate: bool = True,
) -> NDArray[Any]:
    """hftbacktest's event array for ``book`` (see the module docstring for the modes).

    Args:
        book: a loaded book with trades (LOBSTER with its message file for ``mode="l3"``).
        mode: ``"auto"``, ``"l2"`` (depth + trade events) or ``"l3"`` (order events).
        feed_latency: seconds added to ``exch_ts`` to make ``local_ts`` (>= 0). A book with
            receive times (``recv_time``) gives ``local_ts`` from them instead (a feed latency
            as well is refused).
        time_origin_ns: added to every timestamp (LOBSTER times are seconds after midnight).
        hidden_trades: keep LOBSTER's hidden executions (type 5) as trade events (Replay-v0
            fills against them); ``False`` drops them (needs the message file).
        validate: check the event order (:func:`validate_events`) before returning.

    Raises:
        ValueError: not an OrderBook, a book without trades or timestamps, an unknown mode,
            ``"l3"`` without LOBSTER messages, a negative or non-finite feed latency.
    """
    book = _check_book(book)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    lat = float(feed_latency)
    if not math.isfinite(lat) or lat < 0.0:
        raise ValueError(f"feed_latency must be a finite number of seconds >= 0, got {lat!r}")
    if not hidden_trades and book.messages is None:
        raise ValueError(
            f"{book.source}: hidden_trades=False needs the LOBSTER message file (which marks "
            "hidden executions, type 5)"
        )
    if mode == "auto":
        mode = "l3" if book.messages is not None else "l2"
    if mode == "l3":
        if book.messages is None:
            raise ValueError(
                f"{book.source}: mode='l3' needs LOBSTER data with its message file (order ids); "
                "use mode='l2' for snapshot data"
            )
        events = _l3_events(book, hidden_trades)
    else:
        events = _l2_events(book, hidden_trades)
    t_ns = _ns(book.time) + int(time_origin_ns)
    rows = events["exch_ts"].copy()  # the builders store the row index here
    events["exch_ts"] = t_ns[rows]
    if book.recv_time is not None:
        if lat != 0.0:
            raise ValueError(
                f"{book.source}: the book has its own receive times (recv_time); a feed_latency "
                f"of {lat!r} s as well is ambiguous: leave it 0"
            )
        events["local_ts"] = (_ns(book.recv_time) + int(time_origin_ns))[rows]
    else:
        events["local_ts"] = events["exch_ts"] + int(round(lat * 1e9))
    if validate:
        validate_events(events)
    return events


# ---- L2: snapshot, then per-row trades and depth diffs --------------------------------------
def _pack(
    row: NDArray[Any],
    ev: Any,
    px: NDArray[Any],
    qty: NDArray[Any],
    order_id: NDArray[Any] | None = None,
) -> NDArray[Any]:
    out = np.zeros(len(row), dtype=EVENT_DTYPE)
    out["exch_ts"] = row  # the row index until to_hftbacktest turns it into nanoseconds
    out["ev"] = ev
    out["px"] = px
    out["qty"] = qty
    if order_id is not None:
        out["order_id"] = order_id
    return out


def _trade_parts(book: OrderBook, hidden_trades: bool) -> tuple[NDArray[Any], ...]:
    assert book.trade_row is not None
    assert book.trade_price is not None and book.trade_size is not None
    assert book.trade_side is not None
    keep = book.trade_row > 0
    if not hidden_trades:
        types = np.asarray(book.messages["type"], dtype=np.int64)
        keep &= types[book.trade_row] != 5
    side = book.trade_side[keep]
    ev = TRADE_EVENT | _BOTH | np.where(side > 0, BUY_EVENT, SELL_EVENT)
    return book.trade_row[keep], ev, book.trade_price[keep], book.trade_size[keep]


def _side_diffs(
    prices: NDArray[np.float64], sizes: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """(row, price, new size, level) of every price whose size changes from the row before.

    Rows whose prices are level by level those of the row before (most LOBSTER messages) are
    diffed in NumPy; the others (a level inserted or removed) price by price.
    """
    n, n_levels = prices.shape
    p0, p1 = prices[:-1], prices[1:]
    s0, s1 = sizes[:-1], sizes[1:]
    same_px = ((p0 == p1) | (np.isnan(p0) & np.isnan(p1))).all(axis=1)
    changed = same_px[:, None] & (s0 != s1) & ~np.isnan(p1)
    k, j = np.nonzero(changed)
    rows = [k + 1]
    px = [p1[k, j]]
    qty = [s1[k, j]]
    lvl = [j]
    r_list: list[int] = []
    p_list: list[float] = []
    q_list: list[float] = []
    l_list: list[int] = []
    for r in np.flatnonzero(~same_px) + 1:
        old = {float(p): float(s) for p, s in zip(prices[r - 1], sizes[r - 1]) if p == p}
        new = {
            float(p): (float(s), i) for i, (p, s) in enumerate(zip(prices[r], sizes[r])) if p == p
        }
        for p, (s, i) in new.items():
            if old.get(p) != s:
                r_list.append(int(r))
                p_list.append(p)
                q_list.append(s)
                l_list.append(i)
        for p in old:
            if p not in new:
                r_list.append(int(r))
                p_list.append(p)
                q_list.append(0.0)
                l_list.append(n_levels)
    rows.append(np.asarray(r_list, dtype=np.int64))
    px.append(np.asarray(p_list, dtype=np.float64))
    qty.append(np.asarray(q_list, dtype=np.float64))
    lvl.append(np.asarray(l_list, dtype=np.int64))
    return (
        np.concatenate(rows).astype(np.int64),
        np.concatenate(px),
        np.concatenate(qty),
        np.concatenate(lvl).astype(np.int64),
    )


def _l2_events(book: OrderBook, hidden_trades: bool) -> NDArray[Any]:
    parts: list[NDArray[Any]] = []
    prio: list[NDArray[Any]] = []  # order within a row: trades, removals, other depth updates
    sub: list[NDArray[Any]] = []
    for flag, prices, sizes in (
        (BUY_EVENT, book.bid_prices, book.bid_sizes),
        (SELL_EVENT, book.ask_prices, book.ask_sizes),
    ):
        j = np.flatnonzero(~np.isnan(prices[0]))
        parts.append(
            _pack(
                np.zeros(j.size, np.int64),
                DEPTH_SNAPSHOT_EVENT | _BOTH | flag,
                prices[0, j],
                sizes[0, j],
            )
        )
        prio.append(np.zeros(j.size, np.int64))
        sub.append(j)
        r, p, q, lvl = _side_diffs(prices, sizes)
        parts.append(_pack(r, DEPTH_EVENT | _BOTH | flag, p, q))
        prio.append(np.where(q == 0.0, 1, 2))
        sub.append(lvl)
    tr, tev, tpx, tqty = _trade_parts(book, hidden_trades)
    parts.append(_pack(tr, tev, tpx, tqty))
    prio.append(np.zeros(tr.size, np.int64))
    sub.append(np.arange(tr.size))  # trades keep their recorded order
    events = np.concatenate(parts)
    order = np.lexsort((np.concatenate(sub), np.concatenate(prio), events["exch_ts"]))
    return events[order]


# ---- L3: orders from the LOBSTER messages, stand-ins for the unknown ones -------------------
class _L3Builder:
    """The order book as orders (id -> side, price, size) and the events that build it."""

    def __init__(self) -> None:
        self.orders: dict[int, list[Any]] = {}  # id -> [side flag, price, size]
        self.level: dict[int, dict[float, float]] = {BUY_EVENT: {}, SELL_EVENT: {}}
        self.standins: dict[tuple[int, float], list[int]] = {}  # oldest first
        self.next_standin = SYNTHETIC_ID_BASE
        self.out: list[tuple[int, int, float, float, int]] = []  # row, ev, px, qty, order_id
        self.n_standins = 0

    def emit(self, row: int, kind: int, flag: int, px: float, qty: float, oid: int) -> None:
        self.out.append((row, kind | _BOTH | flag, px, qty, oid))

    def add(self, row: int, oid: int, flag: int, px: float, qty: float) -> None:
        self.orders[oid] = [flag, px, qty]
        side = self.level[flag]
        side[px] = side.get(px, 0.0) + qty
        self.emit(row, ADD_ORDER_EVENT, flag, px, qty, oid)

    def add_standin(self, row: int, flag: int, px: float, qty: float) -> None:
        oid = self.next_standin
        self.next_standin += 1
        self.n_standins += 1
        self.standins.setdefault((flag, px), []).append(oid)
        self.add(row, oid, flag, px, qty)

    def reduce(self, row: int, oid: int, amount: float) -> float:
        """Take up to ``amount`` off order ``oid`` (MODIFY, or CANCEL when nothing is left)."""
        flag, px, qty = self.orders[oid]
        take = min(amount, qty)
        left = qty - take
        side = self.level[flag]
        side[px] -= take
        if side[px] <= 0.0:
            del side[px]
        if left > 0.0:
            self.orders[oid][2] = left
            self.emit(row, MODIFY_ORDER_EVENT, flag, px, left, oid)
        else:
            del self.orders[oid]
            ids = self.standins.get((flag, px))
            if ids is not None and oid in ids:
                ids.remove(oid)
            self.emit(row, CANCEL_ORDER_EVENT, flag, px, 0.0, oid)
        return take

    def reduce_standins(self, row: int, flag: int, px: float, amount: float) -> float:
        """Take ``amount`` off the stand-ins at a price, oldest first; returns what was taken."""
        taken = 0.0
        for oid in list(self.standins.get((flag, px), ())):
            if taken >= amount:
                break
            taken += self.reduce(row, oid, amount - taken)
        return taken

    def first_standin(self, flag: int, px: float) -> int | None:
        ids = self.standins.get((flag, px))
        return ids[0] if ids else None

    def reconcile(self, row: int, flag: int, px: float, shown: float) -> None:
        """Make the size at ``px`` what the row shows: a stand-in for size we had no order
        for; size we have too much of comes off the stand-ins, then off the newest orders."""
        have = self.level[flag].get(px, 0.0)
        if shown > have:
            self.add_standin(row, flag, px, shown - have)
        elif shown < have:
            left = have - shown - self.reduce_standins(row, flag, px, have - shown)
            if left > 0.0:
                for oid in reversed(
                    [o for o, v in self.orders.items() if v[0] == flag and v[1] == px]
                ):
                    left -= self.reduce(row, oid, left)
                    if left <= 0.0:
                        break


def _visible(prices_row: NDArray[np.float64], px: float, bid: bool) -> bool:
    """Whether a row's recorded depth covers price ``px`` (a full depth ends at its last level)."""
    last = prices_row[-1]
    if math.isnan(last):
        return True
    return px >= last if bid else px <= last


def _row_levels(prices: NDArray[np.float64], sizes: NDArray[np.float64]) -> dict[float, float]:
    return {float(p): float(s) for p, s in zip(prices, sizes) if p == p}


def _l3_events(book: OrderBook, hidden_trades: bool) -> NDArray[Any]:
    msg = book.messages
    mtype = np.asarray(msg["type"], dtype=np.int64)
    moid = np.asarray(msg["order_id"], dtype=np.int64)
    msize = np.asarray(msg["size"], dtype=np.float64)
    mpx = np.asarray(msg["price"], dtype=np.float64)
    mdir = np.asarray(msg["direction"], dtype=np.int64)
    b = _L3Builder()
    sides = (
        (BUY_EVENT, book.bid_prices, book.bid_sizes, True),
        (SELL_EVENT, book.ask_prices, book.ask_sizes, False),
    )
    for flag, prices, sizes, _ in sides:  # the first row: stand-ins (it reflects message 0)
        for p, s in _row_levels(prices[0], sizes[0]).items():
            b.add_standin(0, flag, p, s)
    for k in range(1, book.n_rows):
        t = int(mtype[k])
        oid = int(moid[k])
        size = float(msize[k])
        px = float(mpx[k])
        flag = BUY_EVENT if mdir[k] > 0 else SELL_EVENT
        if t == 1:
            if oid in b.orders:  # an id reused: LOBSTER ids are unique, but be safe
                b.reduce(k, oid, math.inf)
            b.add(k, oid, flag, px, size)
        elif t in (2, 3, 4):
            if t == 4:
                aggressor = SELL_EVENT if flag == BUY_EVENT else BUY_EVENT
                b.emit(k, TRADE_EVENT, aggressor, px, size, 0)
                target = oid if oid in b.orders else b.first_standin(flag, px)
                if target is not None:
                    b.emit(k, FILL_EVENT, flag, px, size, target)
            amount = math.inf if t == 3 and oid in b.orders else size
            if oid in b.orders:
                b.reduce(k, oid, amount)
            else:
                b.reduce_standins(k, flag, px, amount)
        elif t == 5 and hidden_trades:
            aggressor = SELL_EVENT if flag == BUY_EVENT else BUY_EVENT
            b.emit(k, TRADE_EVENT, aggressor, px, size, 0)
        # reconcile with the row: the message's price, the prices that came into the recorded
        # depth, and, when its far end moved, every price it now covers (LOBSTER's files of N
        # levels carry only the messages that touch the first N: an order beyond them can go
        # without a message)
        for sflag, prices, sizes, bid in sides:
            row = prices[k]
            shown_now = row[~np.isnan(row)]
            check = set(shown_now.tolist()) - set(prices[k - 1].tolist())
            if sflag == flag and t in (1, 2, 3, 4):
                check.add(px)
            end, end_before = row[-1], prices[k - 1, -1]
            if not (end == end_before or (math.isnan(end) and math.isnan(end_before))):
                check.update(b.level[sflag])
            if not check:
                continue
            shown = _row_levels(row, sizes[k])
            for p in sorted(check):
                if _visible(row, p, bid):
                    b.reconcile(k, sflag, p, shown.get(p, 0.0))
    out = np.zeros(len(b.out), dtype=EVENT_DTYPE)
    if b.out:
        r, ev, px_, qty, ids = zip(*b.out)
        out["exch_ts"] = r
        out["ev"] = ev
        out["px"] = px_
        out["qty"] = qty
        out["order_id"] = ids
    return out


# ---- checks and the way back ------------------------------------------------------------------
def validate_events(events: NDArray[Any]) -> None:
    """Raise ``ValueError`` unless exchange events are in exch_ts order and local events in
    local_ts order (hftbacktest's ``validate_event_order`` when installed)."""
    if events.dtype != EVENT_DTYPE:
        raise ValueError(f"events must have hftbacktest's event dtype, got {events.dtype}")
    try:
        from hftbacktest.data import validate_event_order
    except ImportError:
        for flag, field in ((EXCH_EVENT, "exch_ts"), (LOCAL_EVENT, "local_ts")):
            ts = events[field][(events["ev"] & flag) == flag]
            if (np.diff(ts) < 0).any():
                which = "exchange" if flag == EXCH_EVENT else "local"
                raise ValueError(f"{which} events are out of order.") from None
        return
    validate_event_order(events)


def replay_depth(
    events: NDArray[Any], n_levels: int
) -> tuple[NDArray[np.int64], NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Replay L2 events (snapshot, depth, clear) in a plain dict book; the state after the last
    event of every distinct ``exch_ts`` of a depth or trade event.

    Returns ``(exch_ts, bid_prices, bid_sizes, ask_prices, ask_sizes)``, levels best first
    (empty: NaN, 0). Order events raise ``ValueError`` (use :func:`iter_order_books`).
    """
    kinds = events["ev"] & KIND_MASK
    if np.isin(kinds, (ADD_ORDER_EVENT, CANCEL_ORDER_EVENT, MODIFY_ORDER_EVENT, FILL_EVENT)).any():
        raise ValueError("the events are market-by-order (L3); this reads L2 depth + trade data")
    exch = (events["ev"] & EXCH_EVENT) == EXCH_EVENT
    depth_kinds = (DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT, DEPTH_CLEAR_EVENT)
    sel = np.flatnonzero(exch & np.isin(kinds, (*depth_kinds, TRADE_EVENT)))
    books: dict[int, dict[float, float]] = {BUY_EVENT: {}, SELL_EVENT: {}}
    ts_out: list[int] = []
    rows: list[tuple[list[float], ...]] = []
    ts_all = events["exch_ts"]
    for pos, i in enumerate(sel):
        e = events[i]
        ev = int(e["ev"])
        kind = ev & KIND_MASK
        sides = [s for s in (BUY_EVENT, SELL_EVENT) if ev & s] or [BUY_EVENT, SELL_EVENT]
        for s in sides if kind != TRADE_EVENT else ():
            side_book = books[s]
            if kind == DEPTH_CLEAR_EVENT:
                side_book.clear()
            elif e["qty"] > 0:
                side_book[float(e["px"])] = float(e["qty"])
            else:
                side_book.pop(float(e["px"]), None)
        last = pos + 1 == sel.size or ts_all[sel[pos + 1]] != ts_all[i]
        if last:
            ts_out.append(int(ts_all[i]))
            rows.append(_levels_of(books, n_levels))
    bp, bs, ap, asz = (
        np.array([r[c] for r in rows], dtype=np.float64).reshape(-1, n_levels) for c in range(4)
    )
    return np.asarray(ts_out, dtype=np.int64), bp, bs, ap, asz


def _levels_of(books: dict[int, dict[float, float]], n_levels: int) -> tuple[list[float], ...]:
    out: list[list[float]] = []
    for s, reverse in ((BUY_EVENT, True), (SELL_EVENT, False)):
        prices = sorted(books[s], reverse=reverse)[:n_levels]
        px = prices + [math.nan] * (n_levels - len(prices))
        sz = [books[s][p] for p in prices] + [0.0] * (n_levels - len(prices))
        out += [px, sz]
    return out[0], out[1], out[2], out[3]


def iter_order_books(events: NDArray[Any]) -> Any:
    """Yield ``(exch_ts, {BUY_EVENT: {price: size}, SELL_EVENT: {...}})`` after the last event
    of each distinct ``exch_ts`` of an L3 array (the same dict, updated in place)."""
    orders: dict[int, tuple[int, float, float]] = {}
    levels: dict[int, dict[float, float]] = {BUY_EVENT: {}, SELL_EVENT: {}}

    def change(side: int, px: float, dq: float) -> None:
        q = levels[side].get(px, 0.0) + dq
        if q > 0:
            levels[side][px] = q
        else:
            levels[side].pop(px, None)

    n = events.shape[0]
    ts = events["exch_ts"]
    for i in range(n):
        e = events[i]
        ev = int(e["ev"])
        kind = ev & KIND_MASK
        side = BUY_EVENT if ev & BUY_EVENT else SELL_EVENT
        oid = int(e["order_id"])
        if kind == ADD_ORDER_EVENT:
            if oid in orders:
                raise ValueError(f"event {i}: order {oid} added twice")
            orders[oid] = (side, float(e["px"]), float(e["qty"]))
            change(side, float(e["px"]), float(e["qty"]))
        elif kind in (MODIFY_ORDER_EVENT, CANCEL_ORDER_EVENT):
            if oid not in orders:
                raise ValueError(f"event {i}: order {oid} is not in the book")
            s, p, q = orders.pop(oid)
            change(s, p, -q)
            if kind == MODIFY_ORDER_EVENT:
                orders[oid] = (s, float(e["px"]), float(e["qty"]))
                change(s, float(e["px"]), float(e["qty"]))
        elif kind == FILL_EVENT and oid not in orders:
            raise ValueError(f"event {i}: fill of order {oid}, which is not in the book")
        if i + 1 == n or ts[i + 1] != ts[i]:
            yield int(ts[i]), levels


def from_hftbacktest(
    events: NDArray[Any],
    n_levels: int = 10,
    *,
    time_origin_ns: int = 0,
    source: str = "<hftbacktest events>",
    on_error: str = "raise",
) -> OrderBook:
    """An ``OrderBook`` from L2 hftbacktest events (depth snapshot / depth / clear + trades).

    One book row per distinct exchange timestamp of a depth or trade event (the state after
    its last event), the ``n_levels`` best levels a side; times are ``(exch_ts - time_origin_ns) /
    1e9`` seconds. Trade events become the trades (aggressor from the ``BUY`` / ``SELL`` flag),
    each reflected from the first row at or after its time. Where ``local_ts`` differs from
    ``exch_ts``, each row's receive time (:attr:`OrderBook.recv_time`) is the largest
    ``local_ts`` of its events, seconds on the same origin. Rows are checked as every loader
    checks them (``on_error``, see :func:`mm_env.data.book.check_rows`): a one-sided or crossed
    row raises by default. Market-by-order (L3) events raise ``ValueError``.
    """
    if not isinstance(events, np.ndarray) or events.dtype.names is None:
        raise ValueError("events must be a structured NumPy array with hftbacktest's event dtype")
    missing = set(EVENT_DTYPE.names or ()) - set(events.dtype.names)
    if missing:
        raise ValueError(f"events lack the fields {sorted(missing)} of hftbacktest's event dtype")
    ts, bp, bs, ap, asz = replay_depth(events, n_levels)
    if ts.size == 0:
        raise ValueError("the events hold no depth (snapshot or depth events)")
    kinds = events["ev"] & KIND_MASK
    exch = (events["ev"] & EXCH_EVENT) == EXCH_EVENT
    tr = events[exch & (kinds == TRADE_EVENT)]
    origin = int(time_origin_ns)
    trades = {
        "time": (tr["exch_ts"] - origin) / 1e9,
        "price": tr["px"],
        "size": tr["qty"],
        "side": np.where((tr["ev"] & BUY_EVENT) == BUY_EVENT, 1.0, -1.0),
    }
    # the receive clock: a row is received with the last of its events (its largest local_ts);
    # one clock (local_ts == exch_ts everywhere) gives no recv_time
    kinds_sel = (DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT, DEPTH_CLEAR_EVENT, TRADE_EVENT)
    sel = np.flatnonzero(exch & np.isin(kinds, kinds_sel))
    sel_ts = events["exch_ts"][sel]
    starts = np.flatnonzero(np.r_[True, sel_ts[1:] != sel_ts[:-1]])
    row_local = np.maximum.reduceat(events["local_ts"][sel].astype(np.int64), starts)
    recv = None if np.array_equal(row_local, ts) else (row_local - origin) / 1e9
    return OrderBook.from_arrays(
        (ts - origin) / 1e9,
        bp,
        bs,
        ap,
        asz,
        trades=trades,
        source=source,
        on_error=on_error,
        recv_time=recv,
    )
