"""Readers for LOBSTER files and the generic wide snapshot layout; both return an OrderBook.

Every problem is reported as :class:`~mm_env.data.book.BookDataError` naming the file, the line
(1-based, the header line counted) and the problem. Problems of the whole file (missing or extra
columns, row counts that differ, a file that cannot be read at all) always raise; problems of
single rows raise by default and are dropped, counted and warned about with
``on_error="skip"``.

What is checked, one home per rule:

* reading a file (not UTF-8, a broken compressed file, a corrupt Parquet file): :func:`_read_table`;
* numbers (non-numeric cells, ``inf``/``-inf``, float32 Parquet columns): :func:`_numeric`;
* timestamps: :func:`_timestamps`;
* LOBSTER executions (size, price against the book): :func:`load_lobster`;
* every book row (NaN, sizes, level order, crossed/locked, time order) and what
  ``on_error="skip"`` drops: :func:`mm_env.data.book.check_rows`.

This module needs pandas (and pyarrow for Parquet): ``pip install 'mm_env[data]'``. It is
imported only when a loader is first used, so ``import mm_env`` does not import pandas.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

try:
    import pandas as pd
except ImportError as _exc:  # pragma: no cover - exercised by the lead's import-blocking test
    raise ImportError(
        "mm_env's data loaders need pandas (and pyarrow for Parquet files): "
        "pip install 'mm_env[data]'"
    ) from _exc

from mm_env.data.book import (
    BookDataError,
    OrderBook,
    attach_trades,
    check_rows,
    recv_time_problems,
)

#: LOBSTER's price for an empty ("dummy") level: +9999999999 on the ask side, -9999999999 bid
LOBSTER_DUMMY_PRICE = 9999999999
LOBSTER_PRICE_SCALE = 10000.0
LOBSTER_EVENT_TYPES = (1, 2, 3, 4, 5, 6, 7)
LOBSTER_EXECUTIONS = (4, 5)  # visible and hidden executions
MESSAGE_COLUMNS = ("time", "type", "order_id", "size", "price", "direction")
SNAPSHOT_TIME = "timestamp"
#: optional second clock of a snapshot file: when each row was received (Tardis.dev's
#: book_snapshot CSVs name their exchange and receive times ``timestamp`` and
#: ``local_timestamp``)
SNAPSHOT_RECV_TIME = "local_timestamp"
TRADE_COLUMNS = ("timestamp", "price", "size", "side")


_OPENERS: dict[str, Any] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_COMPRESSED = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zip": "zip", ".zst": "zstd"}


def _first_undecodable(path: Path) -> str:
    """Where the first non-UTF-8 byte is (``"line N, byte 0xff: "``), or ``""`` if unknown."""
    opener = _OPENERS.get(path.suffix.lower(), open)
    try:
        with opener(path, "rb") as f:
            for k, line in enumerate(f, start=1):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    return f"line {k}, byte {line[exc.start]:#04x}: "
    except (OSError, EOFError, lzma.LZMAError, zlib.error):
        pass
    return ""


def _read_csv(path: Path, header: bool) -> pd.DataFrame:
    """``pd.read_csv``, with every way a file can be unreadable turned into a BookDataError."""
    kind = _COMPRESSED.get(path.suffix.lower())
    try:
        return pd.read_csv(path, header=0 if header else None, skipinitialspace=True)
    except pd.errors.ParserError as exc:
        raise BookDataError(f"{path}: cannot parse as CSV: {exc}") from exc
    except pd.errors.EmptyDataError as exc:
        raise BookDataError(f"{path}: the file is empty") from exc
    except UnicodeDecodeError as exc:
        where = _first_undecodable(path)
        raise BookDataError(
            f"{path}: {where}not UTF-8 text ({exc.reason}); is it a text CSV file?"
        ) from exc
    except gzip.BadGzipFile as exc:
        raise BookDataError(f"{path}: not a gzip file, though its name ends in .gz: {exc}") from exc
    except EOFError as exc:
        raise BookDataError(
            f"{path}: truncated {kind or 'compressed'} file (the compressed data ends early): {exc}"
        ) from exc
    except (zipfile.BadZipFile, lzma.LZMAError, zlib.error) as exc:
        raise BookDataError(f"{path}: corrupt {kind or 'compressed'} file: {exc}") from exc
    except OSError as exc:
        if type(exc) is not OSError or kind is None:  # FileNotFoundError, PermissionError, ...
            raise
        raise BookDataError(f"{path}: corrupt {kind} file: {exc}") from exc  # bz2's OSError


def _read_table(path: Path) -> pd.DataFrame:
    """A file with a header: CSV (optionally .gz/.bz2/.xz/.zip/.zst compressed) or Parquet.

    A file that cannot be read at all raises one :class:`~mm_env.data.book.BookDataError`
    naming it and saying why, with the original exception chained (``__cause__``): text that is
    not UTF-8 (naming the first such line and byte, when the file can be reread), a truncated
    or corrupt compressed file, a ``.gz`` name on a file that is not gzip, a corrupt Parquet
    file, a CSV that cannot be parsed or is empty. A missing file raises ``FileNotFoundError``.
    The LOBSTER reader uses the same CSV reading (without a header).
    """
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            import pyarrow
        except ImportError as exc:
            raise ImportError(
                f"reading {path} needs pyarrow (pip install pyarrow, or pip install "
                "'mm_env[data]'), or convert it to CSV"
            ) from exc
        try:
            return pd.read_parquet(path)
        except FileNotFoundError:
            raise
        except (pyarrow.ArrowException, OSError, ValueError) as exc:
            raise BookDataError(f"{path}: not a readable Parquet file: {exc}") from exc
    return _read_csv(path, header=True)


def _float32_as_decimal(values: NDArray[np.float32]) -> NDArray[np.float64]:
    """float32 values as the float64 of the shortest decimal (<= 9 places) storing as each.

    ``float32(585.33)`` is 585.3300170898438; read as such it is off a 0.01 grid. The decimal
    585.33 is the value that was stored, so that is what is returned: for each value the fewest
    decimal places d <= 9 with ``float32(round(x, d)) == x``. A value with no such d (tiny
    magnitudes) keeps its exact binary value.
    """
    exact = values.astype(np.float64)
    out = exact.copy()
    todo = np.flatnonzero(np.isfinite(exact))
    for places in range(10):
        if todo.size == 0:
            break
        cand = np.round(exact[todo], places)
        same = cand.astype(np.float32) == values[todo]
        out[todo[same]] = cand[same]
        todo = todo[~same]
    return out


def _numeric(
    frame: pd.DataFrame, path: Path, line0: int, on_error: str, labels: list[str]
) -> tuple[NDArray[np.float64], list[tuple[NDArray[np.bool_], str]]]:
    """All columns as a new float64 array, and the rows with bad cells.

    ``labels``: how messages name each column. ``line0``: the file line of the first row.
    A cell is bad when it is not a number (it becomes NaN) or is ``inf``/``-inf`` (CSV's
    ``inf``, ``-inf``, ``Infinity``, or an infinite Parquet value; an infinite price or size
    would make replayed steps NaN). With ``on_error="raise"`` the first bad cell raises, naming
    the line and the column; with ``"skip"`` the rows are returned as problems for
    :func:`~mm_env.data.book.check_rows`.

    float32 (and float16) columns, as Parquet files may hold, are read as decimals (see
    :func:`_float32_as_decimal`): a decimal price on a tick grid stored as float32 is on that
    grid again, exactly as in a CSV file.

    The result never shares memory with ``frame``: nothing derived from it can change it.
    """
    out = np.empty(frame.shape, dtype=np.float64)
    problems: list[tuple[NDArray[np.bool_], str]] = []

    def report(bad: NDArray[np.bool_], why_first: str, why: str) -> None:
        if not bad.any():
            return
        if on_error == "raise":
            k = int(np.flatnonzero(bad)[0])
            raise BookDataError(f"{path}: line {k + line0}: {why_first}")
        problems.append((bad, why))

    for j in range(frame.shape[1]):
        col = frame.iloc[:, j]
        label = labels[j]
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            values = pd.to_numeric(col, errors="coerce")
            bad = (values.isna() & col.notna()).to_numpy()
            first = col.iloc[int(np.flatnonzero(bad)[0])] if bad.any() else None
            report(
                bad,
                f"non-numeric value {first!r} in column {label}",
                f"non-numeric value in column {label}",
            )
            out[:, j] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        elif pd.api.types.is_float_dtype(col) and col.dtype.itemsize < 8:
            out[:, j] = _float32_as_decimal(col.to_numpy(dtype=np.float32, na_value=np.nan))
        else:
            out[:, j] = col.to_numpy(dtype=np.float64, na_value=np.nan)
        inf = np.isinf(out[:, j])
        first_inf = out[int(np.flatnonzero(inf)[0]), j] if inf.any() else 0.0
        report(
            inf,
            f"infinite value {first_inf} in column {label}",
            f"infinite value in column {label}",
        )
    return out, problems


def _lobster_labels(n_levels: int) -> list[str]:
    names = []
    for i in range(1, n_levels + 1):
        names += [f"ask_price_{i}", f"ask_size_{i}", f"bid_price_{i}", f"bid_size_{i}"]
    return [f"{j + 1} ({name})" for j, name in enumerate(names)]


def _lobster_levels(path: Path) -> int | None:
    m = re.search(r"_orderbook_(\d+)", path.name)
    return int(m.group(1)) if m else None


def _execution_problems(
    msg: NDArray[np.float64],
    good: NDArray[np.bool_],
    ask_raw: NDArray[np.float64],
    bid_raw: NDArray[np.float64],
    msg_path: Path,
    on_error: str,
) -> list[tuple[NDArray[np.bool_], str]]:
    """The execution rules of :func:`load_lobster` (raw units: dollars x 10000, dummy NaN).

    ``good``: the rows that passed every other check; each execution is checked against the
    last good row before it.
    """
    n = msg.shape[0]
    kind, size, price, direction = msg[:, 1], msg[:, 3], msg[:, 4], msg[:, 5]
    is_exec = np.isin(kind, LOBSTER_EXECUTIONS) & good
    before = np.full(n, -1, dtype=np.int64)  # the last good row before each row, -1 if none
    before[1:] = np.maximum.accumulate(np.where(good, np.arange(n), -1))[:-1]
    has_prev = before >= 0
    prev_ask, prev_bid = ask_raw[np.maximum(before, 0)], bid_raw[np.maximum(before, 0)]
    best_ask, best_bid = prev_ask[:, 0], prev_bid[:, 0]
    worst_ask = np.fmax.reduce(prev_ask, axis=1)  # NaN (dummy) levels ignored
    worst_bid = np.fmin.reduce(prev_bid, axis=1)
    on_buy = direction == 1  # a resting buy order: the bid side
    best = np.where(on_buy, best_bid, best_ask)
    worst = np.where(on_buy, worst_bid, worst_ask)
    lo, hi = np.where(on_buy, worst, best), np.where(on_buy, best, worst)
    with np.errstate(invalid="ignore"):
        visible = is_exec & (kind == 4) & has_prev
        off_visible = visible & ~((price >= lo) & (price <= hi))
        hidden = is_exec & (kind == 5) & has_prev
        off_hidden = hidden & ~((price >= best_bid) & (price <= best_ask))
    checks = (
        (is_exec & (size <= 0), "execution (event type 4 or 5) with size <= 0"),
        (is_exec & (price <= 0), "execution (event type 4 or 5) with price <= 0"),
        (off_visible, "visible execution (type 4) at a price the book before it did not show"),
        (off_hidden, "hidden execution (type 5) outside the [best bid, best ask] before it"),
    )
    problems: list[tuple[NDArray[np.bool_], str]] = []
    for mask, why in checks:
        if not mask.any():
            continue
        if on_error == "raise":
            k = int(np.flatnonzero(mask)[0])
            s = LOBSTER_PRICE_SCALE
            detail = f"size {size[k]:g}, price {price[k] / s:g}"
            if mask is off_visible:
                side = "bid" if on_buy[k] else "ask"
                detail += (
                    f", direction {direction[k]:+.0f}: the {side}s shown on line {before[k] + 1} "
                    f"span [{lo[k] / s:g}, {hi[k] / s:g}]"
                )
            elif mask is off_hidden:
                detail += f": line {before[k] + 1} has [{best_bid[k] / s:g}, {best_ask[k] / s:g}]"
            raise BookDataError(f"{msg_path}: line {k + 1}: {why} ({detail})")
        problems.append((mask, why))
    return problems


def load_lobster(
    orderbook_path: str | Path,
    message_path: str | Path | None = None,
    *,
    n_levels: int | None = None,
    on_error: str = "raise",
) -> OrderBook:
    """Read a LOBSTER orderbook file (and optionally its message file).

    Orderbook: no header, ``4 * n_levels`` columns (ask price, ask size, bid price, bid size for
    level 1, then level 2, ...), prices in dollars x 10000 (divided back to dollars here).
    Empty levels (price +-9999999999, size 0) become price NaN, size 0. Messages name columns
    1-based with their meaning, e.g. ``column 2 (ask_size_1)``.

    Message file: no header, 6 columns (time in seconds after midnight, event type 1-7, order
    id, size, price x 10000, direction), row k being the event that produced orderbook row k.
    With it, ``time`` is the message time and the executions (event types 4 and 5) become the
    book's trades (the aggressor is the opposite of the resting order's direction). Without it,
    ``time`` is the event index and ``time_unit`` is ``"events"``. Trading halts (type 7,
    price -1 / 0 / 1 for halt / quoting / resume, the book row repeated) are kept as rows and
    are not trades.

    Executions are checked against the book just before them, after every other check:
    orderbook row k - 1 (LOBSTER's row k is the book *after* event k), or with
    ``on_error="skip"`` the last row before k that was kept:

    * size > 0 and price > 0;
    * a visible execution (type 4) is of a resting order on the side of ``direction`` (+1: a
      buy order, the bids; -1: the asks), so its price must lie within the levels that side
      showed on the row before, between its worst shown level and its best, inclusive. (A
      visible order behind the shown levels cannot trade before them, each of which takes its
      own message.)
    * a hidden execution (type 5) must lie within the row before's [best bid, best ask],
      inclusive.

    There is no tolerance: LOBSTER prices are exact integers. LOBSTER's free samples pass with
    room to spare: on GOOG 2012-06-21 (147,916 events) all 7,764 visible executions are at the
    best price of their side and all 3,913 hidden ones strictly inside the spread (the AAPL
    999-event sample likewise: 98 and 61). The price rules are not applied to row 0 (no earlier
    book).

    ``n_levels``: expected levels (default: from the ``_orderbook_N`` file name, else the column
    count / 4). ``on_error``: ``"raise"`` (default) or ``"skip"``. With ``"skip"`` a bad row of
    either file drops that event: its book row and message row, and with them its execution if
    it was one (so a bad execution is dropped, and so is a good execution whose book row is
    bad). The warning and ``n_skipped`` / ``n_skipped_trades`` / ``skipped_lines`` of the
    result say how many (see :func:`~mm_env.data.book.check_rows`). Reading, number and row
    checks: :func:`_read_table`, :func:`_numeric`, :func:`~mm_env.data.book.check_rows`.
    """
    book_path = Path(orderbook_path)
    raw = _read_csv(book_path, header=False)
    expected = n_levels if n_levels is not None else _lobster_levels(book_path)
    n_cols = raw.shape[1]
    if expected is None:
        if n_cols % 4:
            raise BookDataError(
                f"{book_path}: {n_cols} columns; a LOBSTER orderbook has 4 per level"
            )
        expected = n_cols // 4
    if n_cols != 4 * expected:
        kind = "missing" if n_cols < 4 * expected else "extra"
        raise BookDataError(
            f"{book_path}: {kind} columns: found {n_cols}, expected {4 * expected} "
            f"(ask price, ask size, bid price, bid size for {expected} levels)"
        )
    labels = _lobster_labels(expected)
    values, problems = _numeric(raw, book_path, 1, on_error, labels)
    nan_rows = np.asarray(np.isnan(values).any(axis=1), dtype=np.bool_)
    if nan_rows.any():
        k = int(np.flatnonzero(nan_rows)[0])
        col = int(np.flatnonzero(np.isnan(values[k]))[0])
        problems.append(
            (nan_rows, f"missing value (NaN or empty field), e.g. column {labels[col]}")
        )
    # raw units (dollars x 10000), dummy levels as NaN: fresh arrays, never views of `values`
    ask_raw = np.where(values[:, 0::4] >= LOBSTER_DUMMY_PRICE, np.nan, values[:, 0::4])
    bid_raw = np.where(values[:, 2::4] <= -LOBSTER_DUMMY_PRICE, np.nan, values[:, 2::4])
    ask_p, bid_p = ask_raw / LOBSTER_PRICE_SCALE, bid_raw / LOBSTER_PRICE_SCALE
    ask_s, bid_s = values[:, 1::4].copy(), values[:, 3::4].copy()
    n = values.shape[0]
    lines = np.arange(n, dtype=np.int64) + 1
    messages = None
    executions = None
    then = None
    time_unit = "events"
    if message_path is None:
        time = np.arange(n, dtype=np.float64)
    else:
        msg_path = Path(message_path)
        msg_raw = _read_csv(msg_path, header=False)
        if msg_raw.shape[1] != len(MESSAGE_COLUMNS):
            kind = "missing" if msg_raw.shape[1] < len(MESSAGE_COLUMNS) else "extra"
            raise BookDataError(
                f"{msg_path}: {kind} columns: found {msg_raw.shape[1]}, expected 6 "
                f"({', '.join(MESSAGE_COLUMNS)})"
            )
        if msg_raw.shape[0] != n:
            raise BookDataError(
                f"{msg_path}: {msg_raw.shape[0]} message rows but {book_path.name} has {n} "
                "orderbook rows; row k of each file must describe the same event"
            )
        msg_labels = [f"{j + 1} ({name})" for j, name in enumerate(MESSAGE_COLUMNS)]
        msg, msg_problems = _numeric(msg_raw, msg_path, 1, on_error, msg_labels)
        msg_nan = np.asarray(np.isnan(msg).any(axis=1), dtype=np.bool_)
        bad_type = ~np.isin(msg[:, 1], LOBSTER_EVENT_TYPES) & ~msg_nan
        bad_dir = ~np.isin(msg[:, 5], (-1, 1)) & ~msg_nan
        for mask, why in (
            (msg_nan, "missing value (NaN or empty field) in the message file"),
            (bad_type, "event type not in 1..7 in the message file"),
            (bad_dir, "direction not +1 or -1 in the message file"),
        ):
            if on_error == "raise" and mask.any():
                k = int(np.flatnonzero(mask)[0])
                raise BookDataError(f"{msg_path}: line {k + 1}: {why}")
            msg_problems.append((mask, why))
        problems += [(m, f"{msg_path.name}: {w}") for m, w in msg_problems]

        def check_executions(good: NDArray[np.bool_]) -> list[tuple[NDArray[np.bool_], str]]:
            found = _execution_problems(msg, good, ask_raw, bid_raw, msg_path, on_error)
            return [(m, f"{msg_path.name}: {w}") for m, w in found]

        then = check_executions
        time = msg[:, 0].copy()
        time_unit = "seconds"
        messages = msg
        executions = np.isin(msg[:, 1], LOBSTER_EXECUTIONS)
    keep, report = check_rows(
        time,
        bid_p,
        bid_s,
        ask_p,
        ask_s,
        str(book_path),
        lines,
        on_error,
        problems,
        executions=executions,
        then=then,
    )
    fields: dict[str, Any] = {}
    if messages is not None:
        msg = messages[keep]  # a copy (boolean indexing); every array below is a new one
        execs = np.flatnonzero(np.isin(msg[:, 1], LOBSTER_EXECUTIONS))
        fields = {
            "trade_row": execs.astype(np.int64),
            "trade_price": msg[execs, 4] / LOBSTER_PRICE_SCALE,
            "trade_size": msg[execs, 3],
            "trade_side": -msg[execs, 5],  # a resting buy (+1) was hit by a seller (-1)
        }
        # each column its own new array: the frame aliases neither `msg` nor the trades
        # (pd.DataFrame(msg) would, under pandas 2 without copy-on-write)
        columns: dict[str, NDArray[Any]] = {
            "time": msg[:, 0].copy(),
            "type": msg[:, 1].astype(np.int64),
            "order_id": msg[:, 2].astype(np.int64),
            "size": msg[:, 3].copy(),
            "price": msg[:, 4] / LOBSTER_PRICE_SCALE,
            "direction": msg[:, 5].astype(np.int64),
        }
        fields["messages"] = pd.DataFrame(columns, copy=True)
    return OrderBook(
        time[keep],
        bid_p[keep],
        bid_s[keep],
        ask_p[keep],
        ask_s[keep],
        source=str(book_path),
        time_unit=time_unit,
        lines=lines[keep],
        **fields,
        **report,
    )


def _timestamps(col: pd.Series, path: Path, on_error: str) -> tuple[NDArray[np.float64], Any]:
    """Timestamps as float64 seconds, and the bad rows (or ``None``).

    Numeric seconds are taken as they are (any origin); date-time strings (ISO 8601) and
    Parquet timestamps as seconds since the Unix epoch (UTC; naive ones read as UTC). A cell
    that is neither, or an infinite number of seconds, is bad: it raises with
    ``on_error="raise"`` (naming the line) and is returned as a problem with ``"skip"``.
    """

    def checked(
        seconds: NDArray[np.float64], bad: NDArray[np.bool_] | None, why: str
    ) -> tuple[NDArray[np.float64], Any]:
        inf = np.isinf(seconds)
        if bad is None or not bad.any():
            if not inf.any():
                return seconds, None
            bad, why = inf, f"timestamp {seconds[int(np.flatnonzero(inf)[0])]} is not finite"
        if on_error == "raise":
            raise BookDataError(f"{path}: line {int(np.flatnonzero(bad)[0]) + 2}: {why}")
        return seconds, (bad | inf, why)

    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return checked(col.to_numpy(dtype=np.float64, na_value=np.nan), None, "")
    numbers = pd.to_numeric(col, errors="coerce")
    if pd.api.types.is_datetime64_any_dtype(col):
        parsed = col
    elif numbers.notna().any():  # numeric seconds, with some bad cells
        parsed = None
    else:
        parsed = pd.to_datetime(col, errors="coerce", utc=True, format="ISO8601")
    bad = ((numbers if parsed is None else parsed).isna() & col.notna()).to_numpy()
    why = ""
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        why = f"timestamp {col.iloc[k]!r} is neither a number of seconds nor an ISO date-time"
    if parsed is None:
        return checked(numbers.to_numpy(dtype=np.float64, na_value=np.nan), bad, why)
    if bad.any():
        return checked(np.full(len(col), np.nan), bad, why)
    if parsed.dt.tz is None:
        parsed = parsed.dt.tz_localize("UTC")
    since = parsed.dt.tz_convert("UTC") - pd.Timestamp(0, tz="UTC")
    seconds = (since / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64, na_value=np.nan)
    return seconds, None


def snapshot_columns(n_levels: int) -> list[str]:
    """The column names of the generic wide layout for ``n_levels`` levels, in order."""
    cols = [SNAPSHOT_TIME]
    for i in range(1, n_levels + 1):
        cols += [f"ask_px_{i}", f"ask_qty_{i}", f"bid_px_{i}", f"bid_qty_{i}"]
    return cols


def load_snapshots(
    path: str | Path, trades_path: str | Path | None = None, *, on_error: str = "raise"
) -> OrderBook:
    """Read the generic wide snapshot layout (CSV, optionally compressed, or Parquet).

    Columns: ``timestamp`` then ``ask_px_i, ask_qty_i, bid_px_i, bid_qty_i`` for i = 1..N (any
    order; N is the largest i present, and every column for 1..N is required; any other column
    is an error). ``timestamp``: seconds (any origin) or ISO-8601 date-times (read as UTC,
    converted to seconds since 1970-01-01). An empty level: empty price, and size 0 or empty.
    Optional ``local_timestamp``, in the same form: when the row was received, a second clock
    (:attr:`OrderBook.recv_time`; a row received before its exchange time is an error, or
    dropped with ``on_error="skip"``; receive times must be non-decreasing).

    ``trades_path``: optional trades file (:func:`load_trades`). A trade at time t is matched
    to the first snapshot kept with time >= t. It is read first, so a bad trades file fails
    fast. Trades are never dropped by ``on_error="skip"``: a trade whose snapshot row was
    dropped is tied to the next row kept.

    Reading, number, timestamp and row checks: :func:`_read_table`, :func:`_numeric`,
    :func:`_timestamps`, :func:`~mm_env.data.book.check_rows`.
    """
    path = Path(path)
    trades = load_trades(trades_path) if trades_path is not None else None
    frame = _read_table(path)
    cols = [str(c).strip() for c in frame.columns]
    frame.columns = pd.Index(cols)  # our own frame, just read
    levels = [int(m.group(1)) for c in cols if (m := re.fullmatch(r"ask_px_(\d+)", c))]
    n_levels = max(levels) if levels else 0
    if n_levels == 0:
        raise BookDataError(
            f"{path}: missing columns: no ask_px_1 (expected {', '.join(snapshot_columns(1))}, ...)"
        )
    expected = snapshot_columns(n_levels)
    missing = [c for c in expected if c not in cols]
    extra = [c for c in cols if c not in expected and c != SNAPSHOT_RECV_TIME]
    if missing:
        raise BookDataError(f"{path}: missing columns {missing} (layout: {expected[:5]} ...)")
    if extra:
        raise BookDataError(f"{path}: extra columns {extra} (layout: {expected[:5]} ...)")
    time, time_problem = _timestamps(frame[SNAPSHOT_TIME], path, on_error)
    labels = [repr(c) for c in expected[1:]]
    values, problems = _numeric(frame[expected[1:]], path, 2, on_error, labels)
    if time_problem is not None:
        problems.append(time_problem)
    recv = None
    if SNAPSHOT_RECV_TIME in cols:
        recv, recv_problem = _timestamps(frame[SNAPSHOT_RECV_TIME], path, on_error)
        if recv_problem is not None:
            problems.append(recv_problem)
        problems += recv_time_problems(time, recv)
    ask_p, ask_s = values[:, 0::4].copy(), values[:, 1::4].copy()
    bid_p, bid_s = values[:, 2::4].copy(), values[:, 3::4].copy()
    for prices, sizes in ((ask_p, ask_s), (bid_p, bid_s)):
        empty = np.isnan(prices) & (np.isnan(sizes) | (sizes == 0))
        sizes[empty] = 0.0  # a new array (copied above), not the caller's nor `values`
    lines = np.arange(values.shape[0], dtype=np.int64) + 2
    keep, report = check_rows(
        time, bid_p, bid_s, ask_p, ask_s, str(path), lines, on_error, problems
    )
    time = time[keep]
    fields: dict[str, Any] = {}
    if trades is not None:
        fields = attach_trades(time, trades, str(trades_path))
    return OrderBook(
        time,
        bid_p[keep],
        bid_s[keep],
        ask_p[keep],
        ask_s[keep],
        source=str(path),
        lines=lines[keep],
        recv_time=None if recv is None else recv[keep],
        **fields,
        **report,
    )


def load_trades(path: str | Path) -> dict[str, NDArray[np.float64]]:
    """A trades file as arrays ``time``, ``price``, ``size``, ``side``; any bad row raises.

    Columns ``timestamp, price, size, side`` (CSV, optionally compressed, or Parquet), side
    the aggressor: ``buy``/``sell``, ``b``/``s`` or +1/-1. Timestamps as in
    :func:`load_snapshots`, non-decreasing; price and size > 0 and finite (:func:`_numeric`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no trades file at {path}")
    frame = _read_table(path)
    frame.columns = pd.Index([str(c).strip() for c in frame.columns])  # our own frame
    missing = [c for c in TRADE_COLUMNS if c not in frame.columns]
    extra = [c for c in frame.columns if c not in TRADE_COLUMNS]
    if missing or extra:
        raise BookDataError(
            f"{path}: {'missing' if missing else 'extra'} columns {missing or extra} "
            f"(a trades file has {list(TRADE_COLUMNS)})"
        )
    time, _ = _timestamps(frame["timestamp"], path, "raise")
    values, _ = _numeric(frame[["price", "size"]], path, 2, "raise", ["'price'", "'size'"])
    side_raw = frame["side"]
    if pd.api.types.is_numeric_dtype(side_raw):
        side = side_raw.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        words = {"buy": 1.0, "b": 1.0, "sell": -1.0, "s": -1.0, "+1": 1.0, "1": 1.0, "-1": -1.0}
        side = side_raw.astype(str).str.strip().str.lower().map(words).to_numpy(dtype=np.float64)
    checks = (
        (np.isnan(time), "timestamp is missing"),
        (np.isnan(values).any(axis=1), "price or size is missing (NaN)"),
        (~np.isin(side, (-1.0, 1.0)), "side must be buy/sell, b/s or +1/-1"),
        (values[:, 1] <= 0, "size must be > 0"),
        (values[:, 0] <= 0, "price must be > 0"),
    )
    for mask, why in checks:
        if mask.any():
            raise BookDataError(f"{path}: line {int(np.flatnonzero(mask)[0]) + 2}: {why}")
    back = np.flatnonzero(np.diff(time) < 0)
    if back.size:
        raise BookDataError(f"{path}: line {int(back[0]) + 3}: timestamp goes backwards")
    price, size = values[:, 0].copy(), values[:, 1].copy()
    return {"time": time, "price": price, "size": size, "side": side}


def load_book(
    path: str | Path,
    *,
    message_path: str | Path | None = None,
    trades_path: str | Path | None = None,
    on_error: str = "raise",
) -> OrderBook:
    """Load any supported source, choosing the reader from the path.

    * a directory holding one LOBSTER ``*_orderbook_N.csv[.gz]`` (and its ``*_message_N``);
    * a file whose name contains ``_orderbook_``: LOBSTER, with the message file of the same
      name (``_message_``) when present and ``message_path`` is not given;
    * any other file: the generic snapshot layout (with ``trades_path`` if given).

    ``trades_path`` with LOBSTER data raises ``ValueError``: LOBSTER's executions are the
    event types 4 and 5 of its message file.
    """
    p = Path(path)
    if p.is_dir():
        found = sorted(p.glob("*_orderbook_*.csv*"))
        if len(found) != 1:
            raise BookDataError(
                f"{p}: expected exactly one LOBSTER *_orderbook_*.csv[.gz] file, found {len(found)}"
            )
        p = found[0]
    if not p.exists():
        raise FileNotFoundError(f"no order book data at {p}")
    if "_orderbook_" in p.name:
        if trades_path is not None:
            raise ValueError(
                f"trades_path={str(trades_path)!r} goes with a snapshot file, but {p} is LOBSTER "
                "data: its executions come from its message file (event types 4 and 5)"
            )
        if message_path is None:
            candidate = p.with_name(p.name.replace("_orderbook_", "_message_"))
            message_path = candidate if candidate.exists() else None
        return load_lobster(p, message_path, on_error=on_error)
    return load_snapshots(p, trades_path, on_error=on_error)
