"""Small crafted order books, generated deterministically, so loader round trips run anywhere.

:func:`make_lobster` simulates an order-level book with price-time priority and writes it in
LOBSTER's format (no header; orderbook ``ask price, ask size, bid price, bid size`` per level,
prices in dollars x 10000; message ``time, type, order_id, size, price, direction``). The
simulation covers every event type the loaders treat differently: submissions (1), partial
cancels (2), deletes (3), visible executions (4) of resting buys and sells, hidden executions
(5) of both directions strictly inside the spread, a trading halt (7, the halt / quoting /
resume triplet with the book repeated) and empty levels (LOBSTER's dummy +-9999999999, size 0),
since the book is kept shallower than ``n_levels`` at times.

:func:`snapshot_frame` and :func:`trades_frame` give the same book in the generic snapshot
layout and its trades file. All values are exact: prices are written as decimal strings from
the integers, so a correct loader returns exactly ``raw / 10000``.
"""

from __future__ import annotations

import gzip
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

DUMMY = 9999999999
TICK = 100  # $0.01 in LOBSTER's units (dollars x 10000)
STEM = "TEST_2012-06-21_34200000_57600000"


@dataclass
class Lobster:
    """A generated LOBSTER pair: the exact integers written, and where."""

    book: NDArray[np.int64]  # (n, 4 * n_levels), as written (dummy levels included)
    messages: NDArray[np.int64]  # (n, 6) with the time column as nanoseconds after midnight
    time_text: list[str]  # the time column exactly as written
    n_levels: int
    orderbook_path: Path | None = None
    message_path: Path | None = None

    @property
    def time(self) -> NDArray[np.float64]:
        return np.array([float(t) for t in self.time_text])

    @property
    def n_rows(self) -> int:
        return int(self.book.shape[0])

    def book_lines(self) -> list[str]:
        return [",".join(str(int(x)) for x in row) for row in self.book]

    def message_lines(self) -> list[str]:
        return [
            ",".join([t] + [str(int(x)) for x in row[1:]])
            for t, row in zip(self.time_text, self.messages)
        ]

    def write(self, folder: Path, compress: bool = False) -> tuple[Path, Path]:
        """Write both files (``.csv`` or ``.csv.gz``) into ``folder``; returns their paths."""
        suffix = ".csv.gz" if compress else ".csv"
        b = folder / f"{STEM}_orderbook_{self.n_levels}{suffix}"
        m = folder / f"{STEM}_message_{self.n_levels}{suffix}"
        for path, lines in ((b, self.book_lines()), (m, self.message_lines())):
            text = ("\n".join(lines) + "\n").encode()
            path.write_bytes(gzip.compress(text, mtime=0) if compress else text)
        self.orderbook_path, self.message_path = b, m
        return b, m


class _Book:
    """Orders by id; levels are aggregated on demand (price-time priority within a level)."""

    def __init__(self) -> None:
        self.orders: OrderedDict[int, list[int]] = OrderedDict()  # id -> [side, price, size]
        self.next_id = 1000

    def add(self, side: int, price: int, size: int) -> int:
        self.next_id += 1
        self.orders[self.next_id] = [side, price, size]
        return self.next_id

    def levels(self, side: int) -> list[tuple[int, int]]:
        agg: dict[int, int] = {}
        for s, p, q in self.orders.values():
            if s == side:
                agg[p] = agg.get(p, 0) + q
        prices = sorted(agg, reverse=side == 1)
        return [(p, agg[p]) for p in prices]

    def best(self, side: int) -> int:
        return self.levels(side)[0][0]

    def ids_at(self, side: int, price: int) -> list[int]:
        return [i for i, (s, p, _) in self.orders.items() if s == side and p == price]

    def row(self, n_levels: int) -> list[int]:
        asks, bids = self.levels(-1), self.levels(1)
        out: list[int] = []
        for i in range(n_levels):
            ap, asz = asks[i] if i < len(asks) else (DUMMY, 0)
            bp, bsz = bids[i] if i < len(bids) else (-DUMMY, 0)
            out += [ap, asz, bp, bsz]
        return out


def make_lobster(n_events: int = 300, n_levels: int = 5, seed: int = 7) -> Lobster:
    """A deterministic LOBSTER pair of ``n_events`` rows (see the module docstring)."""
    rng = np.random.default_rng(seed)
    book = _Book()
    mid = 5_853_300
    for k in range(3):  # three levels a side to start: shallower than n_levels
        book.add(1, mid - 100 - TICK * k, 100 * (k + 1))
        book.add(-1, mid + 100 + TICK * k, 100 * (k + 2))
    rows: list[list[int]] = []
    msgs: list[list[int]] = []
    ns = 34_200 * 10**9
    halt_at = n_events // 2
    # every kind, both directions, early whatever the seed (the spread starts at 2 ticks)
    forced = {0: 5, 1: 5, 2: 4, 3: 4, 4: 2, 5: 3}
    seen_dirs: set[tuple[int, int]] = set()
    while len(rows) < n_events:
        ns += int(rng.integers(1, 50_000_000))
        k = len(rows)
        if k == halt_at:  # halt, quoting, resume: price -1 / 0 / 1, direction -1, rest 0
            for flag in (-1, 0, 1):
                msgs.append([ns, 7, 0, 0, flag, -1])
                rows.append(book.row(n_levels))
                ns += 1_000_000_000
            continue
        kind = forced.get(k)
        if kind is None:
            kind = int(rng.choice([1, 1, 1, 1, 2, 3, 4, 4, 5]))
        side = int(rng.choice([1, -1])) if k not in forced else (1 if k % 2 else -1)
        bid, ask = book.best(1), book.best(-1)
        if kind == 1:
            if side == 1:
                price = int(min(ask - TICK, bid + TICK * int(rng.integers(-3, 3))))
            else:
                price = int(max(bid + TICK, ask + TICK * int(rng.integers(-2, 4))))
            size = int(rng.integers(1, 6)) * 50
            oid = book.add(side, price, size)
            msgs.append([ns, 1, oid, size, price, side])
        elif kind in (2, 3):
            candidates = [i for i, (s, _, _) in book.orders.items() if s == side]
            if len(candidates) < 2:
                continue
            oid = int(rng.choice(candidates))
            s, price, size = book.orders[oid]
            if kind == 2 and size > 1:
                part = int(rng.integers(1, size))
                book.orders[oid][2] -= part
                msgs.append([ns, 2, oid, part, price, s])
            else:
                del book.orders[oid]
                msgs.append([ns, 3, oid, size, price, s])
            if not book.levels(side):  # never empty a side
                book.add(side, price, size)
        elif kind == 4:
            price = book.best(side)
            ids = book.ids_at(side, price)
            oid = ids[0]  # the oldest order at the best price
            resting = book.orders[oid][2]
            last = len(book.levels(side)) == 1 and len(ids) == 1  # it would empty the side
            take = resting if (rng.integers(0, 2) and not last) else max(1, resting // 2)
            if take >= resting:
                if last:
                    continue
                del book.orders[oid]
            else:
                book.orders[oid][2] -= take
            msgs.append([ns, 4, oid, take, price, side])
            seen_dirs.add((4, side))
        else:  # hidden: strictly inside the spread, the book does not change
            if ask - bid < 2 * TICK:
                continue
            price = int(bid + TICK * int(rng.integers(1, (ask - bid) // TICK)))
            size = int(rng.integers(1, 4)) * 100
            msgs.append([ns, 5, 0, size, price, side])
            seen_dirs.add((5, side))
        rows.append(book.row(n_levels))
    assert seen_dirs == {(4, 1), (4, -1), (5, 1), (5, -1)}, seen_dirs
    m = np.array(msgs[:n_events], dtype=np.int64)
    text = [f"{t // 10**9}.{t % 10**9:09d}" for t in m[:, 0]]
    return Lobster(np.array(rows[:n_events], dtype=np.int64), m, text, n_levels)


def dollars(raw: NDArray[np.int64] | int) -> NDArray[np.float64]:
    """LOBSTER integer prices as dollars, dummy levels as NaN (what a loader must return)."""
    a = np.asarray(raw, dtype=np.int64)
    out = a / 10000.0
    return np.where(np.abs(a) >= DUMMY, np.nan, out)


def _decimal(raw: int) -> str:
    """An integer price in dollars x 10000 as the exact decimal string; dummy as empty."""
    if abs(raw) >= DUMMY:
        return ""
    sign = "-" if raw < 0 else ""
    raw = abs(raw)
    return f"{sign}{raw // 10000}.{raw % 10000:04d}"


def snapshot_lines(lob: Lobster) -> list[str]:
    """The book in the snapshot layout, as CSV lines (header first), prices as exact decimals.

    Empty levels: empty price and size 0.
    """
    header = ["timestamp"]
    for i in range(1, lob.n_levels + 1):
        header += [f"ask_px_{i}", f"ask_qty_{i}", f"bid_px_{i}", f"bid_qty_{i}"]
    lines = [",".join(header)]
    for t, row in zip(lob.time_text, lob.book):
        cells = [t]
        for j, x in enumerate(row):
            cells.append(_decimal(int(x)) if j % 2 == 0 else str(int(x)))
        lines.append(",".join(cells))
    return lines


def trade_lines(lob: Lobster) -> list[str]:
    """The executions (types 4 and 5) as a trades file: the aggressor is -direction."""
    lines = ["timestamp,price,size,side"]
    for t, row in zip(lob.time_text, lob.messages):
        if row[1] in (4, 5):
            side = "buy" if row[5] < 0 else "sell"
            lines.append(f"{t},{_decimal(int(row[4]))},{int(row[3])},{side}")
    return lines
