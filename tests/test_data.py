"""Loading real books: exact round trips, every validation error, on_error="skip", the fetcher."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas", reason="the loaders need pip install 'mm_env[data]'")
from numpy.typing import NDArray

from mm_env.data import (
    BookDataError,
    OrderBook,
    fetch_lobster_sample,
    load_book,
    load_lobster,
    load_snapshots,
    load_trades,
    snapshot_columns,
)
from mm_env.data import fetch as fetch_module
from tests.lobster_fixtures import (
    STEM,
    Lobster,
    dollars,
    make_lobster,
    snapshot_lines,
    trade_lines,
)

AAPL = "AAPL_2012-06-21_10_first999"
BOOK = "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv"
MSG = "AAPL_2012-06-21_34200000_57600000_message_10.csv"


@pytest.fixture
def aapl(lobster_dir: Path) -> Path:
    return lobster_dir / AAPL


def raw_lines(aapl: Path, n: int = 20) -> tuple[list[str], list[str]]:
    book = (aapl / BOOK).read_text().splitlines()[:n]
    msg = (aapl / MSG).read_text().splitlines()[:n]
    return book, msg


def write_lobster(folder: Path, book: list[str], msg: list[str] | None) -> tuple[Path, Path]:
    b = folder / "TEST_2012-06-21_0_1_orderbook_10.csv"
    m = folder / "TEST_2012-06-21_0_1_message_10.csv"
    b.write_text("\n".join(book) + "\n")
    if msg is not None:
        m.write_text("\n".join(msg) + "\n")
    return b, m


def set_field(line: str, col: int, value: str) -> str:
    parts = line.split(",")
    parts[col] = value
    return ",".join(parts)


def book_to_snapshots(book: OrderBook) -> pd.DataFrame:
    frame = pd.DataFrame({"timestamp": book.time})
    for i in range(book.n_levels):
        frame[f"ask_px_{i + 1}"] = book.ask_prices[:, i]
        frame[f"ask_qty_{i + 1}"] = book.ask_sizes[:, i]
        frame[f"bid_px_{i + 1}"] = book.bid_prices[:, i]
        frame[f"bid_qty_{i + 1}"] = book.bid_sizes[:, i]
    return frame


# ---- round trips -------------------------------------------------------------------------------
# crafted books (tests/lobster_fixtures.py): these run everywhere, without ../shared/data
@pytest.fixture(scope="session")
def lob() -> Lobster:
    return make_lobster()


def assert_book_is_raw(book: OrderBook, lob: Lobster) -> None:
    """Every book value equals the raw integers: prices / 10000 (dummy: NaN), sizes as is."""
    np.testing.assert_array_equal(book.ask_prices, dollars(lob.book[:, 0::4]))
    np.testing.assert_array_equal(book.ask_sizes, lob.book[:, 1::4])
    np.testing.assert_array_equal(book.bid_prices, dollars(lob.book[:, 2::4]))
    np.testing.assert_array_equal(book.bid_sizes, lob.book[:, 3::4])
    np.testing.assert_array_equal(book.time, lob.time)


def assert_trades_are_raw(book: OrderBook, lob: Lobster) -> None:
    """The executions (types 4, 5): row, price / 10000, size, aggressor = -direction."""
    m = lob.messages
    execs = np.isin(m[:, 1], (4, 5))
    assert set(m[execs, 1]) == {4, 5} and set(m[execs, 5]) == {-1, 1}  # all four kinds
    np.testing.assert_array_equal(book.trade_row, np.flatnonzero(execs))
    np.testing.assert_array_equal(book.trade_price, m[execs, 4] / 10000)
    np.testing.assert_array_equal(book.trade_size, m[execs, 3])
    np.testing.assert_array_equal(book.trade_side, -m[execs, 5])


@pytest.mark.parametrize("compress", [False, True], ids=["csv", "csv.gz"])
def test_crafted_lobster_round_trips_exact_values(
    lob: Lobster, tmp_path: Path, compress: bool
) -> None:
    b, m = lob.write(tmp_path, compress=compress)
    book = load_lobster(b, m)
    assert book.n_rows == lob.n_rows == 300 and book.n_levels == 5 and book.n_skipped == 0
    assert np.isnan(book.ask_prices).any() and np.isnan(book.bid_prices).any()  # dummy levels
    assert_book_is_raw(book, lob)
    # the corruption of issue 10: under pandas 2.x the execution prices were divided twice
    assert_trades_are_raw(book, lob)
    msg = book.messages
    np.testing.assert_array_equal(msg["time"], lob.time)
    for j, name in enumerate(["type", "order_id", "size", "price", "direction"], start=1):
        expected = lob.messages[:, j] / (10000 if name == "price" else 1)
        np.testing.assert_array_equal(msg[name], expected)
    assert [str(msg[c].dtype) for c in ("type", "order_id", "direction")] == ["int64"] * 3
    assert set(msg["type"]) == {1, 2, 3, 4, 5, 7}
    halts = msg[msg["type"] == 7]
    assert halts["price"].tolist() == [-0.0001, 0.0, 0.0001] and (halts["direction"] == -1).all()
    assert not set(np.flatnonzero(msg["type"] == 7)) & set(book.trade_row)  # halts: no trades
    # nothing the book returns shares memory with anything else it returns
    arrays = [getattr(book, f) for f in ("time", "bid_prices", "bid_sizes", "ask_prices")]
    arrays += [getattr(book, f) for f in ("ask_sizes", "trade_price", "trade_size", "trade_side")]
    arrays += [msg[c].to_numpy() for c in msg.columns]
    for i, a in enumerate(arrays):
        for other in arrays[i + 1 :]:
            assert not np.shares_memory(a, other)
    # the directory finds the pair (either compression) with the message file
    np.testing.assert_array_equal(load_book(tmp_path).trade_price, book.trade_price)


def write_snapshot_files(lob: Lobster, folder: Path, kind: str) -> tuple[Path, Path]:
    """The crafted book as a snapshot file of ``kind`` and its trades file (CSV)."""
    text = "\n".join(snapshot_lines(lob)) + "\n"
    trades = folder / "trades.csv"
    trades.write_text("\n".join(trade_lines(lob)) + "\n")
    if kind in ("csv", "csv.gz"):
        path = folder / f"book.{kind}"
        data = text.encode()
        path.write_bytes(gzip.compress(data, mtime=0) if kind == "csv.gz" else data)
        return path, trades
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"timestamp": lob.time})
    for i in range(lob.n_levels):
        for j, name in enumerate(("ask_px", "ask_qty", "bid_px", "bid_qty")):
            raw = lob.book[:, 4 * i + j]
            frame[f"{name}_{i + 1}"] = dollars(raw) if j % 2 == 0 else raw.astype(np.float64)
    if kind == "parquet-float32":  # prices and sizes stored as float32; times stay float64
        frame = frame.astype({c: np.float32 for c in frame.columns if c != "timestamp"})
    path = folder / "book.parquet"
    frame.to_parquet(path)
    return path, trades


@pytest.mark.parametrize("kind", ["csv", "csv.gz", "parquet", "parquet-float32"])
def test_crafted_snapshots_round_trip_exact_values(lob: Lobster, tmp_path: Path, kind: str) -> None:
    path, trades = write_snapshot_files(lob, tmp_path, kind)
    if kind == "parquet-float32":
        assert pd.read_parquet(path)["ask_px_1"].dtype == np.float32
    book = load_snapshots(path, trades)
    assert book.n_rows == 300 and book.n_levels == 5 and book.time_unit == "seconds"
    assert_book_is_raw(book, lob)  # float32 prices too: read as the decimals they store
    assert_trades_are_raw(book, lob)  # each trade on the row of its execution
    np.testing.assert_array_equal(book.lines, np.arange(300) + 2)
    lobster = load_lobster(*lob.write(tmp_path))
    for name in ("bid_prices", "ask_prices", "trade_price", "trade_side"):
        np.testing.assert_array_equal(getattr(book, name), getattr(lobster, name))


def test_float32_values_read_as_their_decimals() -> None:
    from mm_env.data.loaders import _float32_as_decimal

    decimals = np.array([585.33, 0.01, 99.99, 12345.6, -3.5, 1e-12, 0.0, np.nan, np.inf])
    stored = decimals.astype(np.float32)
    assert stored[0].astype(np.float64) != 585.33  # the binary value is off the cent grid
    back = _float32_as_decimal(stored)
    np.testing.assert_array_equal(back[:5], decimals[:5])
    assert back[5] == np.float64(stored[5])  # no decimal of <= 9 places: kept as stored
    assert back[6] == 0.0 and np.isnan(back[7]) and back[8] == np.inf
    assert (back.astype(np.float32)[:7] == stored[:7]).all()  # never another float32


def test_from_arrays_copies_and_leaves_the_callers_arrays_alone() -> None:
    time = np.arange(4.0)
    bid_p = np.array([[10.0, 9.99], [10.0, 9.99], [10.0, 9.99], [10.0, np.nan]])
    bid_s = np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0], [1.0, 0.0]])
    ask_p = np.array([[10.02, 10.03]] * 4)
    ask_s = np.array([[3.0, 4.0]] * 4)
    trades = {"time": np.array([1.0]), "price": np.array([10.0]), "size": np.array([1.0])}
    trades["side"] = np.array([-1.0])
    inputs = [time, bid_p, bid_s, ask_p, ask_s, *trades.values()]
    before = [x.copy() for x in inputs]
    book = OrderBook.from_arrays(time, bid_p, bid_s, ask_p, ask_s, trades=trades)
    for x, y in zip(inputs, before):
        np.testing.assert_array_equal(x, y)  # not changed
    held = [book.time, book.bid_prices, book.bid_sizes, book.ask_prices, book.ask_sizes]
    held += [book.trade_price, book.trade_size, book.trade_side]
    for a in held:
        assert not any(np.shares_memory(a, x) for x in inputs)
    bid_p[0, 0] = 11.0  # the caller's later changes do not reach the book
    assert book.bid_prices[0, 0] == 10.0 and book.lines is None


def test_lobster_round_trips_exact_values(aapl: Path) -> None:
    book = load_lobster(aapl / BOOK, aapl / MSG)
    raw = np.loadtxt(aapl / BOOK, delimiter=",")
    msg = np.loadtxt(aapl / MSG, delimiter=",")
    assert book.n_rows == 999 and book.n_levels == 10 and book.time_unit == "seconds"
    np.testing.assert_array_equal(book.ask_prices, raw[:, 0::4] / 10000)
    np.testing.assert_array_equal(book.ask_sizes, raw[:, 1::4])
    np.testing.assert_array_equal(book.bid_prices, raw[:, 2::4] / 10000)
    np.testing.assert_array_equal(book.bid_sizes, raw[:, 3::4])
    np.testing.assert_array_equal(book.time, msg[:, 0])
    assert book.ask_prices[0, 0] == 585.94 and book.bid_prices[0, 0] == 585.33
    execs = np.isin(msg[:, 1], (4, 5))
    np.testing.assert_array_equal(book.trade_row, np.flatnonzero(execs))
    np.testing.assert_array_equal(book.trade_size, msg[execs, 3])
    np.testing.assert_array_equal(book.trade_price, msg[execs, 4] / 10000)
    np.testing.assert_array_equal(book.trade_side, -msg[execs, 5])
    assert list(book.messages.columns) == ["time", "type", "order_id", "size", "price", "direction"]
    assert book.n_skipped == 0
    # the directory and the orderbook path alone find the message file
    same = load_book(aapl)
    np.testing.assert_array_equal(same.time, book.time)


def test_lobster_without_messages_counts_events(aapl: Path) -> None:
    book = load_lobster(aapl / BOOK)
    assert book.time_unit == "events" and not book.has_trades
    np.testing.assert_array_equal(book.time, np.arange(999.0))


def test_lobster_dummy_levels_are_empty_levels(aapl: Path, tmp_path: Path) -> None:
    book, msg = raw_lines(aapl, 5)
    # levels 9 and 10 empty on both sides in row 2
    for level in (8, 9):
        book[1] = set_field(book[1], 4 * level, "9999999999")
        book[1] = set_field(book[1], 4 * level + 1, "0")
        book[1] = set_field(book[1], 4 * level + 2, "-9999999999")
        book[1] = set_field(book[1], 4 * level + 3, "0")
    b, m = write_lobster(tmp_path, book, msg)
    loaded = load_lobster(b, m)
    assert np.isnan(loaded.ask_prices[1, 8:]).all() and np.isnan(loaded.bid_prices[1, 8:]).all()
    assert (loaded.ask_sizes[1, 8:] == 0).all() and (loaded.bid_sizes[1, 8:] == 0).all()
    assert not np.isnan(loaded.ask_prices[1, :8]).any()
    assert loaded.imbalance(10)[1] == pytest.approx(
        (loaded.bid_sizes[1, :8].sum() - loaded.ask_sizes[1, :8].sum())
        / (loaded.bid_sizes[1, :8].sum() + loaded.ask_sizes[1, :8].sum())
    )


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".csv.bz2"])
def test_snapshot_layout_round_trips(aapl: Path, tmp_path: Path, suffix: str) -> None:
    book = load_lobster(aapl / BOOK, aapl / MSG)
    path = tmp_path / f"book{suffix}"
    frame = book_to_snapshots(book)
    frame = frame[list(reversed(frame.columns))]  # column order is free
    frame.to_csv(path, index=False)
    again = load_snapshots(path)
    for name in ("time", "bid_prices", "bid_sizes", "ask_prices", "ask_sizes"):
        np.testing.assert_array_equal(getattr(again, name), getattr(book, name))
    assert again.time_unit == "seconds" and not again.has_trades


def test_snapshot_parquet_round_trips(aapl: Path, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    book = load_lobster(aapl / BOOK, aapl / MSG)
    path = tmp_path / "book.parquet"
    book_to_snapshots(book).to_parquet(path)
    np.testing.assert_array_equal(load_snapshots(path).bid_prices, book.bid_prices)


def test_parquet_without_pyarrow_says_so(tmp_path: Path, monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name == "pyarrow":
            raise ImportError("no pyarrow")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    path = tmp_path / "book.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(ImportError, match="pip install pyarrow"):
        load_snapshots(path)


def test_snapshot_trades_and_iso_timestamps(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "timestamp": ["2024-01-02T10:00:00Z", "2024-01-02T10:00:01Z", "2024-01-02T10:00:02Z"],
            "ask_px_1": [10.02, 10.02, 10.03],
            "ask_qty_1": [5, 3, 4],
            "bid_px_1": [10.00, 10.01, 10.01],
            "bid_qty_1": [7, 2, 2],
            "ask_px_2": [10.03, 10.03, None],
            "ask_qty_2": [1, 1, 0],
            "bid_px_2": [9.99, 10.00, 10.00],
            "bid_qty_2": [1, 7, 6],
        }
    )
    frame.to_csv(tmp_path / "book.csv", index=False)
    trades = pd.DataFrame(
        {
            "timestamp": ["2024-01-02T10:00:00.5Z", "2024-01-02T10:00:01.5Z"],
            "price": [10.02, 10.00],
            "size": [2, 1],
            "side": ["buy", "S"],
        }
    )
    trades.to_csv(tmp_path / "trades.csv", index=False)
    book = load_snapshots(tmp_path / "book.csv", tmp_path / "trades.csv")
    assert book.time[1] - book.time[0] == 1.0
    assert np.isnan(book.ask_prices[2, 1]) and book.ask_sizes[2, 1] == 0
    np.testing.assert_array_equal(book.trade_row, [1, 2])
    np.testing.assert_array_equal(book.trade_side, [1.0, -1.0])
    # load_book passes the trades file on; a missing one is named before the book is read
    again = load_book(tmp_path / "book.csv", trades_path=tmp_path / "trades.csv")
    np.testing.assert_array_equal(again.trade_row, book.trade_row)
    with pytest.raises(FileNotFoundError, match="no trades file at .*nothere.csv"):
        load_snapshots(tmp_path / "book.csv", tmp_path / "nothere.csv")


def test_lobster_takes_no_trades_file(aapl: Path, tmp_path: Path) -> None:
    trades = tmp_path / "trades.csv"
    trades.write_text("timestamp,price,size,side\n34200.5,585.0,1,buy\n")
    for path in (aapl, aapl / BOOK):
        with pytest.raises(ValueError, match="LOBSTER data: its executions come from its message"):
            load_book(path, trades_path=trades)


# ---- validation errors ------------------------------------------------------------------------
def lobster_case(kind: str, book: list[str], msg: list[str]) -> tuple[list[str], list[str], str]:
    """Corrupt line 4 (index 3) of a LOBSTER pair; returns (book, msg, expected message)."""
    if kind == "missing column":
        return [",".join(x.split(",")[:-1]) for x in book], msg, "missing columns: found 39"
    if kind == "extra column":
        return [x + ",1" for x in book], msg, "extra columns: found 41"
    if kind == "non-numeric":
        book[3] = set_field(book[3], 1, "abc")
        return book, msg, "line 4: non-numeric value 'abc' in column 2 (ask_size_1)"
    if kind == "nan":
        book[3] = set_field(book[3], 5, "")
        return book, msg, "line 4: missing value"
    if kind == "crossed":
        best_ask = book[3].split(",")[0]
        book[3] = set_field(book[3], 2, str(int(best_ask) + 100))
        return book, msg, "line 4: crossed book"
    if kind == "locked":
        book[3] = set_field(book[3], 2, book[3].split(",")[0])
        return book, msg, "line 4: locked book"
    if kind == "out of order":
        book[3] = set_field(book[3], 4, str(int(book[3].split(",")[0]) - 100))
        return book, msg, "line 4: ask levels out of order"
    if kind == "backwards":
        msg[3] = set_field(msg[3], 0, "34199.0")
        return book, msg, "line 4: timestamp goes backwards"
    if kind == "row count":
        return book, msg[:-1], "19 message rows but"
    if kind == "event type":
        msg[3] = set_field(msg[3], 1, "9")
        return book, msg, "line 4: event type not in 1..7"
    raise AssertionError(kind)


LOBSTER_CASES = [
    "missing column",
    "extra column",
    "non-numeric",
    "nan",
    "crossed",
    "locked",
    "out of order",
    "backwards",
    "row count",
    "event type",
]


@pytest.mark.parametrize("kind", LOBSTER_CASES)
def test_each_lobster_error_names_file_line_and_problem(
    aapl: Path, tmp_path: Path, kind: str
) -> None:
    book, msg = raw_lines(aapl)
    book, msg, expected = lobster_case(kind, book, msg)
    b, m = write_lobster(tmp_path, book, msg)
    with pytest.raises(BookDataError) as err:
        load_lobster(b, m)
    text = str(err.value)
    assert expected in text
    assert "TEST_2012-06-21_0_1_" in text  # the file is named


def snapshot_frame(aapl: Path) -> pd.DataFrame:
    return book_to_snapshots(load_lobster(aapl / BOOK, aapl / MSG)).head(20).copy()


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("missing", "missing columns ['bid_qty_3']"),
        ("extra", "extra columns ['venue']"),
        ("non-numeric", "line 5: non-numeric value 'x' in column 'ask_qty_2'"),
        ("nan", "line 5: bid size is NaN"),
        ("crossed", "line 5: crossed book"),
        ("locked", "line 5: locked book"),
        ("out of order", "line 5: bid levels out of order"),
        ("gap", "line 5: ask levels out of order: an empty level before a non-empty one"),
        ("backwards", "line 5: timestamp goes backwards"),
        ("bad time", "line 5: timestamp 'soon'"),
    ],
)
def test_each_snapshot_error_names_file_line_and_problem(
    aapl: Path, tmp_path: Path, kind: str, expected: str
) -> None:
    f = snapshot_frame(aapl)
    r = 3  # data row 3 is line 5 (the header is line 1)
    if kind == "missing":
        f = f.drop(columns=["bid_qty_3"])
    elif kind == "extra":
        f["venue"] = "X"
    elif kind == "non-numeric":
        f["ask_qty_2"] = f["ask_qty_2"].astype(object)
        f.loc[r, "ask_qty_2"] = "x"
    elif kind == "nan":
        f.loc[r, "bid_qty_1"] = np.nan
    elif kind == "crossed":
        f.loc[r, "bid_px_1"] = f.loc[r, "ask_px_1"] + 0.01
    elif kind == "locked":
        f.loc[r, "bid_px_1"] = f.loc[r, "ask_px_1"]
    elif kind == "out of order":
        f.loc[r, "bid_px_2"] = f.loc[r, "bid_px_1"] + 0.0  # equal prices on two levels
    elif kind == "gap":
        f.loc[r, "ask_px_2"] = np.nan
        f.loc[r, "ask_qty_2"] = 0
    elif kind == "backwards":
        f.loc[r, "timestamp"] = f.loc[r - 1, "timestamp"] - 1.0
    elif kind == "bad time":
        f["timestamp"] = f["timestamp"].astype(object)
        f.loc[r, "timestamp"] = "soon"
    path = tmp_path / "snap.csv"
    f.to_csv(path, index=False)
    with pytest.raises(BookDataError) as err:
        load_snapshots(path)
    assert expected in str(err.value)
    assert "snap.csv" in str(err.value)


def test_on_error_skip_drops_counts_and_warns(aapl: Path, tmp_path: Path) -> None:
    book, msg = raw_lines(aapl)
    book[3] = set_field(book[3], 2, book[3].split(",")[0])  # locked
    book[7] = set_field(book[7], 1, "abc")  # non-numeric
    msg[11] = set_field(msg[11], 0, "34199.0")  # backwards
    b, m = write_lobster(tmp_path, book, msg)
    with pytest.raises(BookDataError):
        load_lobster(b, m)
    with pytest.warns(UserWarning, match="skipped 3 bad row"):
        loaded = load_lobster(b, m, on_error="skip")
    assert loaded.n_skipped == 3 and loaded.n_rows == 17
    assert loaded.skipped_lines == (4, 8, 12)
    assert len(loaded.messages) == 17
    with pytest.raises(ValueError, match="on_error"):
        load_lobster(b, m, on_error="ignore")


# ---- crafted corruption: inf, executions, unreadable files ------------------------------------
def crafted_pair(
    folder: Path, book: list[str], msg: list[str], suffix: str = ".csv"
) -> tuple[Path, Path]:
    b = folder / f"{STEM}_orderbook_5{suffix}"
    m = folder / f"{STEM}_message_5{suffix}"
    for path, lines in ((b, book), (m, msg)):
        data = ("\n".join(lines) + "\n").encode()
        path.write_bytes(gzip.compress(data, mtime=0) if suffix.endswith(".gz") else data)
    return b, m


@pytest.mark.parametrize(
    "where, col, value, expected",
    [
        ("book", 4, "inf", "line 31: infinite value inf in column 5 (ask_price_2)"),
        ("book", 3, "-inf", "line 31: infinite value -inf in column 4 (bid_size_1)"),
        ("msg", 0, "Infinity", "line 31: infinite value inf in column 1 (time)"),
        ("msg", 3, "inf", "line 31: infinite value inf in column 4 (size)"),
    ],
)
def test_lobster_inf_names_file_line_and_column(
    lob: Lobster, tmp_path: Path, where: str, col: int, value: str, expected: str
) -> None:
    book, msg = lob.book_lines(), lob.message_lines()
    target = book if where == "book" else msg
    target[30] = set_field(target[30], col, value)
    b, m = crafted_pair(tmp_path, book, msg)
    with pytest.raises(BookDataError, match=re.escape(expected)) as err:
        load_lobster(b, m)
    assert (b if where == "book" else m).name in str(err.value)
    with pytest.warns(UserWarning, match="skipped 1 bad row"):
        skipped = load_lobster(b, m, on_error="skip")
    assert skipped.skipped_lines == (31,) and np.isfinite(skipped.ask_sizes).all()


@pytest.mark.parametrize(
    "column, value, expected",
    [
        ("ask_px_2", "inf", "line 12: infinite value inf in column 'ask_px_2'"),
        ("bid_qty_1", "-inf", "line 12: infinite value -inf in column 'bid_qty_1'"),
        ("bid_px_3", "Infinity", "line 12: infinite value inf in column 'bid_px_3'"),
        ("timestamp", "inf", "line 12: timestamp inf is not finite"),
    ],
)
def test_snapshot_inf_names_file_line_and_column(
    lob: Lobster, tmp_path: Path, column: str, value: str, expected: str
) -> None:
    lines = snapshot_lines(lob)
    j = lines[0].split(",").index(column)
    lines[11] = set_field(lines[11], j, value)
    path = tmp_path / "snap.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(BookDataError, match=f"snap.csv: {re.escape(expected)}"):
        load_snapshots(path)
    with pytest.warns(UserWarning, match="skipped 1 bad row"):
        book = load_snapshots(path, on_error="skip")
    assert book.skipped_lines == (12,) and book.n_rows == 299
    assert np.isfinite(book.time).all() and not np.isinf(book.ask_prices).any()


def test_parquet_and_trades_inf_name_file_line_and_column(lob: Lobster, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path, trades = write_snapshot_files(lob, tmp_path, "parquet")
    frame = pd.read_parquet(path)
    frame.loc[7, "ask_qty_1"] = np.inf
    frame.to_parquet(path)
    with pytest.raises(BookDataError, match="book.parquet: line 9: infinite value inf in col"):
        load_snapshots(path)
    for j, expected in ((1, "line 4: infinite value inf in column 'price'"), (0, "line 4: time")):
        lines = trade_lines(lob)
        lines[3] = set_field(lines[3], j, "inf")
        trades.write_text("\n".join(lines) + "\n")
        with pytest.raises(BookDataError, match=f"trades.csv: {expected}"):
            load_snapshots(tmp_path / "book.parquet", trades)


def execution_rows(lob: Lobster, kind: int, direction: int) -> NDArray[np.int64]:
    m = lob.messages
    rows = np.flatnonzero((m[:, 1] == kind) & (m[:, 5] == direction))
    return rows[rows > 0]


def test_crafted_executions_obey_the_rules(lob: Lobster) -> None:
    """The generator's executions are what the rule of load_lobster expects of real ones."""
    for direction in (1, -1):
        for k in execution_rows(lob, 4, direction):
            side = lob.book[k - 1, 2::4] if direction == 1 else lob.book[k - 1, 0::4]
            assert lob.messages[k, 4] == side[0]  # at the best price of the resting side
        for k in execution_rows(lob, 5, direction):
            assert lob.book[k - 1, 2] < lob.messages[k, 4] < lob.book[k - 1, 0]


def bad_execution(lob: Lobster, case: str) -> tuple[int, int, int, str]:
    """(row, message column, new value, expected message) of one corrupted execution."""
    vis_buy, vis_sell = execution_rows(lob, 4, 1)[2], execution_rows(lob, 4, -1)[2]
    hidden = execution_rows(lob, 5, -1)[0]
    m = lob.messages
    visible = "visible execution (type 4) at a price the book before it did not show"

    def shown(k: int, direction: int) -> str:  # the prices of row k - 1's resting side
        side = lob.book[k - 1, 2::4] if direction == 1 else lob.book[k - 1, 0::4]
        p = side[np.abs(side) < 9999999999] / 10000
        name = "bids" if direction == 1 else "asks"
        span = f"[{p.min():g}, {p.max():g}]"
        return f"direction {direction:+d}: the {name} shown on line {k} span {span}"

    if case == "zero size":
        why = "execution (event type 4 or 5) with size <= 0"
        return vis_buy, 3, 0, f"{why} (size 0, price {m[vis_buy, 4] / 10000:g})"
    if case == "negative size":
        why = "execution (event type 4 or 5) with size <= 0"
        return hidden, 3, -100, f"{why} (size -100, price {m[hidden, 4] / 10000:g})"
    if case == "visible above the best bid":
        price = int(lob.book[vis_buy - 1, 2] + 100)
        detail = f"size {m[vis_buy, 3]}, price {price / 10000:g}, {shown(vis_buy, 1)}"
        return vis_buy, 4, price, f"{visible} ({detail})"
    if case == "visible below the shown bids":
        bids = lob.book[vis_buy - 1, 2::4]
        price = int(bids[np.abs(bids) < 9999999999].min() - 100)
        detail = f"size {m[vis_buy, 3]}, price {price / 10000:g}, {shown(vis_buy, 1)}"
        return vis_buy, 4, price, f"{visible} ({detail})"
    if case == "visible ask on the bid side":
        # a resting sell executed at the best ask, relabelled direction +1 (a resting buy)
        detail = f"size {m[vis_sell, 3]}, price {m[vis_sell, 4] / 10000:g}, {shown(vis_sell, 1)}"
        return vis_sell, 5, 1, f"{visible} ({detail})"
    if case == "hidden outside the spread":
        bid, ask = lob.book[hidden - 1, 2] / 10000, lob.book[hidden - 1, 0] / 10000
        price = int(lob.book[hidden - 1, 0] + 100)
        why = "hidden execution (type 5) outside the [best bid, best ask] before it"
        detail = (
            f"size {m[hidden, 3]}, price {price / 10000:g}: line {hidden} has [{bid:g}, {ask:g}]"
        )
        return hidden, 4, price, f"{why} ({detail})"
    if case == "price zero":
        why = "execution (event type 4 or 5) with price <= 0"
        return vis_sell, 4, 0, f"{why} (size {m[vis_sell, 3]}, price 0)"
    raise AssertionError(case)


EXECUTION_CASES = [
    "zero size",
    "negative size",
    "visible above the best bid",
    "visible below the shown bids",
    "visible ask on the bid side",
    "hidden outside the spread",
    "price zero",
]


@pytest.mark.parametrize("case", EXECUTION_CASES)
def test_bad_executions_raise_naming_file_and_line(lob: Lobster, tmp_path: Path, case: str) -> None:
    row, col, value, expected = bad_execution(lob, case)
    msg = lob.message_lines()
    msg[row] = set_field(msg[row], col, str(value))
    b, m = crafted_pair(tmp_path, lob.book_lines(), msg)
    with pytest.raises(BookDataError) as err:
        load_lobster(b, m)
    assert str(err.value) == f"{m}: line {row + 1}: {expected}"
    # skip: the event is dropped (book row, message row and its execution), and counted
    with pytest.warns(UserWarning, match=r"skipped 1 bad row.*with the 1 execution\(s\) on them"):
        book = load_lobster(b, m, on_error="skip")
    assert book.n_skipped == 1 and book.n_skipped_trades == 1
    assert book.skipped_lines == (row + 1,) and row + 1 not in book.lines
    assert len(book.trade_price) == len(load_lobster(*lob.write(tmp_path)).trade_price) - 1


def test_skip_counts_the_executions_of_bad_book_rows(lob: Lobster, tmp_path: Path) -> None:
    book = lob.book_lines()
    execs = np.flatnonzero(np.isin(lob.messages[:, 1], (4, 5)))
    other = np.flatnonzero(~np.isin(lob.messages[:, 1], (4, 5)))
    for k in (execs[3], execs[10], other[5]):  # two executions' rows and one other: locked
        book[k] = set_field(book[k], 2, book[k].split(",")[0])
    b, m = crafted_pair(tmp_path, book, lob.message_lines())
    with pytest.warns(UserWarning, match=r"skipped 3 bad row.*with the 2 execution\(s\) on th"):
        loaded = load_lobster(b, m, on_error="skip")
    assert loaded.n_skipped == 3 and loaded.n_skipped_trades == 2
    assert len(loaded.trade_row) == len(execs) - 2
    assert loaded.trade_row.max() < loaded.n_rows
    kept = np.setdiff1d(np.arange(lob.n_rows), [execs[3], execs[10], other[5]])
    np.testing.assert_array_equal(loaded.lines, kept + 1)
    # without a message file there are no executions to lose, and no count of them
    with pytest.warns(UserWarning) as record:
        load_lobster(b, on_error="skip")
    assert "execution(s)" not in str(record[0].message)


def unreadable(kind: str, good: bytes) -> bytes:
    if kind == "not utf-8":
        return good.replace(b"\n", b"\n\xff\xfe", 1)  # line 2 starts with bytes not UTF-8
    if kind == "truncated gzip":
        return gzip.compress(good, mtime=0)[:-40]
    if kind == "not gzip":
        return good
    if kind == "corrupt bzip2":
        return bz2.compress(good)[:10] + b"\0" * 64
    if kind == "truncated xz":
        return lzma.compress(good)[:-20]
    raise AssertionError(kind)


FILE_CASES = [
    ("not utf-8", ".csv", UnicodeDecodeError, "line 2, byte 0xff: not UTF-8 text"),
    ("not utf-8", ".csv.gz", UnicodeDecodeError, "line 2, byte 0xff: not UTF-8 text"),
    ("truncated gzip", ".csv.gz", EOFError, "truncated gzip file"),
    ("not gzip", ".csv.gz", gzip.BadGzipFile, "not a gzip file, though its name ends in .gz"),
    ("corrupt bzip2", ".csv.bz2", OSError, "corrupt bzip2 file: Invalid data stream"),
    ("truncated xz", ".csv.xz", EOFError, "truncated xz file"),
]


@pytest.mark.parametrize("kind, suffix, cause, expected", FILE_CASES)
def test_unreadable_lobster_file_names_it(
    lob: Lobster, tmp_path: Path, kind: str, suffix: str, cause: type, expected: str
) -> None:
    b, m = lob.write(tmp_path)
    data = unreadable(kind, m.read_bytes())
    if kind == "not utf-8" and suffix == ".csv.gz":
        data = gzip.compress(data, mtime=0)
    bad = m.with_name(m.name.replace(".csv", suffix))
    bad.write_bytes(data)
    with pytest.raises(BookDataError, match=f"{re.escape(str(bad))}: {expected}") as err:
        load_lobster(b, bad)
    assert isinstance(err.value.__cause__, cause)


@pytest.mark.parametrize("kind, suffix, cause, expected", FILE_CASES)
def test_unreadable_snapshot_and_trades_files_name_them(
    lob: Lobster, tmp_path: Path, kind: str, suffix: str, cause: type, expected: str
) -> None:
    path, trades = write_snapshot_files(lob, tmp_path, "csv")
    data = unreadable(kind, path.read_bytes())
    if kind == "not utf-8" and suffix == ".csv.gz":
        data = gzip.compress(data, mtime=0)
    for name, reader in (("snap", load_snapshots), ("trades", load_trades)):
        bad = tmp_path / f"{name}{suffix}"
        bad.write_bytes(data)
        with pytest.raises(BookDataError, match=f"{re.escape(str(bad))}: {expected}") as err:
            reader(bad)
        assert isinstance(err.value.__cause__, cause)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty footer"])
def test_corrupt_parquet_names_the_file(lob: Lobster, tmp_path: Path, damage: str) -> None:
    pyarrow = pytest.importorskip("pyarrow")
    path, _ = write_snapshot_files(lob, tmp_path, "parquet")
    data = path.read_bytes()
    bad = tmp_path / "bad.parquet"
    if damage == "truncated":
        bad.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        bad.write_bytes(b"this is not a parquet file at all")
    else:
        bad.write_bytes(b"PAR1" + b"\0" * 40 + b"PAR1")
    with pytest.raises(BookDataError, match=f"{re.escape(str(bad))}: not a readable Parquet"):
        load_snapshots(bad)
    assert isinstance(err_cause(bad), (pyarrow.ArrowException, OSError))


def err_cause(path: Path) -> BaseException | None:
    try:
        load_snapshots(path)
    except BookDataError as exc:
        return exc.__cause__
    return None


def test_missing_file_is_still_file_not_found(tmp_path: Path) -> None:
    for name in ("nothere.csv", "nothere.csv.gz", "nothere.parquet"):
        with pytest.raises(FileNotFoundError):
            load_snapshots(tmp_path / name)


# ---- the package: lazy loaders -----------------------------------------------------------------
def test_data_package_resolves_loaders_lazily() -> None:
    import mm_env.data as data

    assert set(data.__all__) <= set(dir(data))
    assert "importlib" not in dir(data)
    assert data.load_book is load_book and data.snapshot_columns is snapshot_columns
    with pytest.raises(AttributeError, match="has no attribute 'load_everything'"):
        data.load_everything  # noqa: B018


def test_loaders_without_pandas_say_what_to_install() -> None:
    """In a fresh interpreter that cannot import pandas: the data package and OrderBook work,
    a loader raises ImportError naming the extra to install."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('pandas', 'pyarrow', 'scipy'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import numpy as np\n"
        "from mm_env.data import OrderBook, BookDataError, get_data_home\n"
        "OrderBook.from_arrays([0.0], [[1.0]], [[1.0]], [[2.0]], [[1.0]])\n"
        "try:\n"
        "    from mm_env.data import load_book\n"
        "except ImportError as exc:\n"
        "    print('ImportError:', exc)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert "ImportError: mm_env's data loaders need pandas" in out.stdout
    assert "pip install 'mm_env[data]'" in out.stdout


# ---- the fetcher (never the network) -----------------------------------------------------------
def sample_archive(aapl: Path, tmp_path: Path) -> Path:
    """The AAPL sample zipped as LOBSTER serves it (what the faked download delivers)."""
    archive = tmp_path / "sample.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(aapl / BOOK, BOOK)
        z.write(aapl / MSG, MSG)
    return archive


def test_fetcher_downloads_once_verifies_checksum_and_caches(
    aapl: Path, tmp_path: Path, monkeypatch
) -> None:
    archive = sample_archive(aapl, tmp_path)
    calls: list[str] = []

    def fake_download(url: str, dest: Path) -> None:
        calls.append(url)
        shutil.copy(archive, dest)

    monkeypatch.setattr(fetch_module, "_download", fake_download)
    home = tmp_path / "home"
    digest = fetch_module.sha256_of(archive)
    book = fetch_lobster_sample("aapl", data_home=home, sha256=digest)
    assert calls == [
        "https://lobsterdata.com/info/sample/LOBSTER_SampleFile_AAPL_2012-06-21_10.zip"
    ]
    assert book.n_rows == 999 and book.has_trades
    again = fetch_lobster_sample("AAPL", data_home=home, download_if_missing=False)
    assert len(calls) == 1  # served from the cache
    np.testing.assert_array_equal(again.bid_prices, book.bid_prices)
    # a wrong checksum deletes the cached file and raises
    with pytest.raises(OSError, match="checksum mismatch"):
        fetch_lobster_sample("AAPL", data_home=home, sha256="0" * 64)
    assert not (home / "lobster" / "LOBSTER_SampleFile_AAPL_2012-06-21_10.zip").exists()


def test_fetcher_records_a_checksum_when_none_is_known(
    aapl: Path, tmp_path: Path, monkeypatch
) -> None:
    archive = sample_archive(aapl, tmp_path)
    monkeypatch.setattr(fetch_module, "_download", lambda url, dest: shutil.copy(archive, dest))
    home = tmp_path / "home"
    with pytest.warns(UserWarning, match="recorded sha256"):
        fetch_lobster_sample("AAPL", data_home=home)
    cached = home / "lobster" / "LOBSTER_SampleFile_AAPL_2012-06-21_10.zip"
    stamp = cached.with_name(cached.name + ".sha256")
    assert stamp.read_text().strip() == fetch_module.sha256_of(archive)
    cached.write_bytes(b"tampered")
    with pytest.raises(OSError, match="checksum mismatch"):
        fetch_lobster_sample("AAPL", data_home=home)
    with pytest.raises(ValueError, match="no LOBSTER sample"):
        fetch_lobster_sample("XYZ", data_home=home)


def test_snapshot_columns_helper() -> None:
    assert snapshot_columns(2) == [
        "timestamp",
        "ask_px_1",
        "ask_qty_1",
        "bid_px_1",
        "bid_qty_1",
        "ask_px_2",
        "ask_qty_2",
        "bid_px_2",
        "bid_qty_2",
    ]
