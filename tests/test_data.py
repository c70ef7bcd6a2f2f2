"""Loading real books: exact round trips, every validation error, on_error="skip", the fetcher."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mm_env.data import (
    BookDataError,
    OrderBook,
    fetch_lobster_sample,
    load_book,
    load_lobster,
    load_snapshots,
    snapshot_columns,
)
from mm_env.data import fetch as fetch_module
from tests.lobster_fixtures import Lobster, dollars, make_lobster, snapshot_lines, trade_lines

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
        return book, msg, "line 4: non-numeric value 'abc' in column 1"
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
