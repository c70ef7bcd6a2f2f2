"""Readers for LOBSTER files and the generic wide snapshot layout; both return an OrderBook.

Every problem is reported as :class:`~mm_env.data.book.BookDataError` naming the file, the line
(1-based, the header line counted) and the problem. Problems of the whole file (missing or extra
columns, row counts that differ) always raise; problems of single rows raise by default and
are dropped, counted and warned about with ``on_error="skip"``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from mm_env.data.book import BookDataError, OrderBook, attach_trades, check_rows

#: LOBSTER's price for an empty ("dummy") level: +9999999999 on the ask side, -9999999999 bid
LOBSTER_DUMMY_PRICE = 9999999999
LOBSTER_PRICE_SCALE = 10000.0
LOBSTER_EVENT_TYPES = (1, 2, 3, 4, 5, 6, 7)
LOBSTER_EXECUTIONS = (4, 5)  # visible and hidden executions
MESSAGE_COLUMNS = ("time", "type", "order_id", "size", "price", "direction")
SNAPSHOT_TIME = "timestamp"
TRADE_COLUMNS = ("timestamp", "price", "size", "side")


def _read_csv(path: Path, header: bool) -> pd.DataFrame:
    try:
        return pd.read_csv(path, header=0 if header else None, skipinitialspace=True)
    except pd.errors.ParserError as exc:
        raise BookDataError(f"{path}: cannot parse as CSV: {exc}") from exc
    except pd.errors.EmptyDataError as exc:
        raise BookDataError(f"{path}: the file is empty") from exc


def _read_table(path: Path) -> pd.DataFrame:
    """CSV (optionally .gz/.bz2/.xz/.zip/.zst compressed) or Parquet, with a header."""
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise ImportError(
                f"reading {path} needs pyarrow (pip install pyarrow), or convert it to CSV"
            ) from exc
        return pd.read_parquet(path)
    return _read_csv(path, header=True)


def _numeric(
    frame: pd.DataFrame, path: Path, line0: int, on_error: str
) -> tuple[NDArray[np.float64], list[tuple[NDArray[np.bool_], str]]]:
    """All columns as float64; non-numeric cells become NaN and are reported per row."""
    out = np.empty(frame.shape, dtype=np.float64)
    problems: list[tuple[NDArray[np.bool_], str]] = []
    for j, name in enumerate(frame.columns):
        col = frame[name]
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            values = pd.to_numeric(col, errors="coerce")
            bad = (values.isna() & col.notna()).to_numpy()
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                why = f"non-numeric value {col.iloc[k]!r} in column {name!r}"
                if on_error == "raise":
                    raise BookDataError(f"{path}: line {k + line0}: {why}")
                problems.append((bad, f"non-numeric value in column {name!r}"))
            out[:, j] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            out[:, j] = col.to_numpy(dtype=np.float64, na_value=np.nan)
    return out, problems


def _lobster_levels(path: Path) -> int | None:
    m = re.search(r"_orderbook_(\d+)", path.name)
    return int(m.group(1)) if m else None


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
    Empty levels (price +-9999999999, size 0) become price NaN, size 0.

    Message file: no header, 6 columns (time in seconds after midnight, event type 1-7, order
    id, size, price x 10000, direction), row k being the event that produced orderbook row k.
    With it, ``time`` is the message time and the executions (event types 4 and 5) become the
    book's trades (the aggressor is the opposite of the resting order's direction). Without it,
    ``time`` is the event index and ``time_unit`` is ``"events"``.

    ``n_levels``: expected levels (default: from the ``_orderbook_N`` file name, else the column
    count / 4). ``on_error``: ``"raise"`` (default) or ``"skip"`` (drop bad rows of both files,
    warn with the count, record it in ``n_skipped``).
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
    values, problems = _numeric(raw, book_path, 1, on_error)
    nan_rows = np.isnan(values).any(axis=1)
    if nan_rows.any():
        k = int(np.flatnonzero(nan_rows)[0])
        col = int(np.flatnonzero(np.isnan(values[k]))[0]) + 1
        problems.append((nan_rows, f"missing value (NaN or empty field), e.g. column {col}"))
    ask_p, ask_s = values[:, 0::4].copy(), values[:, 1::4].copy()
    bid_p, bid_s = values[:, 2::4].copy(), values[:, 3::4].copy()
    ask_p[ask_p >= LOBSTER_DUMMY_PRICE] = np.nan
    bid_p[bid_p <= -LOBSTER_DUMMY_PRICE] = np.nan
    ask_p /= LOBSTER_PRICE_SCALE
    bid_p /= LOBSTER_PRICE_SCALE
    n = values.shape[0]
    lines = np.arange(n, dtype=np.int64) + 1
    messages = None
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
        msg, msg_problems = _numeric(msg_raw, msg_path, 1, on_error)
        msg_nan = np.isnan(msg).any(axis=1)
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
        time = msg[:, 0].copy()
        time_unit = "seconds"
        messages = msg
    keep, report = check_rows(
        time, bid_p, bid_s, ask_p, ask_s, str(book_path), lines, on_error, problems
    )
    time = time[keep]
    fields: dict[str, Any] = {}
    if messages is not None:
        msg = messages[keep]
        frame = pd.DataFrame(msg, columns=list(MESSAGE_COLUMNS))
        for name in ("type", "order_id", "direction"):
            frame[name] = frame[name].astype(np.int64)
        frame["price"] /= LOBSTER_PRICE_SCALE
        execs = np.flatnonzero(np.isin(msg[:, 1], LOBSTER_EXECUTIONS))
        fields = {
            "messages": frame,
            "trade_row": execs.astype(np.int64),
            "trade_price": msg[execs, 4] / LOBSTER_PRICE_SCALE,
            "trade_size": msg[execs, 3].copy(),
            "trade_side": -msg[execs, 5],  # a resting buy (+1) was hit by a seller (-1)
        }
    return OrderBook(
        time,
        bid_p[keep],
        bid_s[keep],
        ask_p[keep],
        ask_s[keep],
        source=str(book_path),
        time_unit=time_unit,
        **fields,
        **report,
    )


def _timestamps(col: pd.Series, path: Path, on_error: str) -> tuple[NDArray[np.float64], Any]:
    """Numeric seconds as they are; date-time strings as seconds since the Unix epoch (UTC)."""
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return col.to_numpy(dtype=np.float64, na_value=np.nan), None
    numbers = pd.to_numeric(col, errors="coerce")
    if pd.api.types.is_datetime64_any_dtype(col):
        parsed = col
    elif numbers.notna().any():  # numeric seconds, with some bad cells
        parsed = None
    else:
        parsed = pd.to_datetime(col, errors="coerce", utc=True, format="ISO8601")
    bad = ((numbers if parsed is None else parsed).isna() & col.notna()).to_numpy()
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        why = f"timestamp {col.iloc[k]!r} is neither a number of seconds nor an ISO date-time"
        if on_error == "raise":
            raise BookDataError(f"{path}: line {k + 2}: {why}")
        values = numbers.to_numpy(dtype=np.float64, na_value=np.nan) if parsed is None else None
        return (np.full(len(col), np.nan) if values is None else values), (bad, why)
    if parsed is None:
        return numbers.to_numpy(dtype=np.float64, na_value=np.nan), None
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

    ``trades_path``: optional trades file with columns ``timestamp, price, size, side``, side
    the aggressor: ``buy``/``sell``, ``b``/``s`` or +1/-1. A trade at time t is matched to the
    first snapshot with time >= t. It is read first, so a bad trades file fails fast.
    """
    path = Path(path)
    trades = load_trades(trades_path) if trades_path is not None else None
    frame = _read_table(path)
    cols = [str(c).strip() for c in frame.columns]
    frame.columns = cols
    levels = [int(m.group(1)) for c in cols if (m := re.fullmatch(r"ask_px_(\d+)", c))]
    n_levels = max(levels) if levels else 0
    if n_levels == 0:
        raise BookDataError(
            f"{path}: missing columns: no ask_px_1 (expected {', '.join(snapshot_columns(1))}, ...)"
        )
    expected = snapshot_columns(n_levels)
    missing = [c for c in expected if c not in cols]
    extra = [c for c in cols if c not in expected]
    if missing:
        raise BookDataError(f"{path}: missing columns {missing} (layout: {expected[:5]} ...)")
    if extra:
        raise BookDataError(f"{path}: extra columns {extra} (layout: {expected[:5]} ...)")
    time, time_problem = _timestamps(frame[SNAPSHOT_TIME], path, on_error)
    values, problems = _numeric(frame[expected[1:]], path, 2, on_error)
    if time_problem is not None:
        problems.append(time_problem)
    ask_p, ask_s = values[:, 0::4].copy(), values[:, 1::4].copy()
    bid_p, bid_s = values[:, 2::4].copy(), values[:, 3::4].copy()
    for prices, sizes in ((ask_p, ask_s), (bid_p, bid_s)):
        empty = np.isnan(prices) & (np.isnan(sizes) | (sizes == 0))
        sizes[empty] = 0.0
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
        **fields,
        **report,
    )


def load_trades(path: str | Path) -> dict[str, NDArray[np.float64]]:
    """A trades file (``timestamp, price, size, side``) as arrays; any bad row raises."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no trades file at {path}")
    frame = _read_table(path)
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in TRADE_COLUMNS if c not in frame.columns]
    extra = [c for c in frame.columns if c not in TRADE_COLUMNS]
    if missing or extra:
        raise BookDataError(
            f"{path}: {'missing' if missing else 'extra'} columns {missing or extra} "
            f"(a trades file has {list(TRADE_COLUMNS)})"
        )
    time, _ = _timestamps(frame["timestamp"], path, "raise")
    values, _ = _numeric(frame[["price", "size"]], path, 2, "raise")
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
    return {"time": time, "price": values[:, 0], "size": values[:, 1], "side": side}


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
