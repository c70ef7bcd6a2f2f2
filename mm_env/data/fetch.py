"""Download LOBSTER's free sample files into a local cache, in scikit-learn's fetcher style.

``fetch_lobster_sample("AAPL")`` downloads ``LOBSTER_SampleFile_AAPL_2012-06-21_10.zip`` from
lobsterdata.com once into ``data_home`` (default ``$MM_ENV_DATA_HOME`` or ``~/mm_env_data``),
checks its SHA-256, unpacks it and returns the loaded :class:`~mm_env.data.book.OrderBook`.
Later calls read the cache and never touch the network.

Checksums: a checksum passed as ``sha256`` is always enforced. Otherwise the checksum recorded
in :data:`SAMPLE_SHA256` is enforced; for a sample without a recorded checksum, the first
download records the file's checksum beside it (with a warning saying so), and every later use
of the cache is verified against it. A mismatch deletes the file and raises ``OSError``.
Cite LOBSTER (lobsterdata.com) when results use these samples.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
import warnings
import zipfile
from pathlib import Path

from mm_env.data.book import OrderBook

SAMPLE_TICKERS = ("AAPL", "AMZN", "GOOG", "INTC", "MSFT")
SAMPLE_DATE = "2012-06-21"
URL_TEMPLATE = "https://lobsterdata.com/info/sample/LOBSTER_SampleFile_{ticker}_{date}_{levels}.zip"
#: known SHA-256 of the sample archives, by file name (none recorded yet: see the module doc)
SAMPLE_SHA256: dict[str, str] = {}


def get_data_home(data_home: str | Path | None = None) -> Path:
    """The cache folder: ``data_home``, else ``$MM_ENV_DATA_HOME``, else ``~/mm_env_data``."""
    if data_home is None:
        data_home = os.environ.get("MM_ENV_DATA_HOME", Path.home() / "mm_env_data")
    path = Path(data_home).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _download(url: str, dest: Path) -> None:
    """Fetch ``url`` into ``dest`` (the only function that uses the network)."""
    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:  # noqa: S310
        shutil.copyfileobj(response, out)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch_lobster_sample(
    ticker: str,
    data_home: str | Path | None = None,
    *,
    levels: int = 10,
    sha256: str | None = None,
    download_if_missing: bool = True,
    on_error: str = "raise",
) -> OrderBook:
    """LOBSTER's free one-day sample of ``ticker`` (21 June 2012), downloaded once and cached."""
    ticker = ticker.upper()
    if ticker not in SAMPLE_TICKERS:
        raise ValueError(f"no LOBSTER sample for {ticker!r}; samples: {SAMPLE_TICKERS}")
    if levels not in (1, 5, 10):
        raise ValueError(f"LOBSTER samples have 1, 5 or 10 levels, got {levels!r}")
    home = get_data_home(data_home) / "lobster"
    home.mkdir(exist_ok=True)
    url = URL_TEMPLATE.format(ticker=ticker, date=SAMPLE_DATE, levels=levels)
    archive = home / url.rsplit("/", 1)[1]
    stamp = archive.with_name(archive.name + ".sha256")
    expected = sha256 or SAMPLE_SHA256.get(archive.name)
    if expected is None and stamp.is_file():
        expected = stamp.read_text().strip()
    if not archive.is_file():
        if not download_if_missing:
            raise OSError(f"{archive} is not cached and download_if_missing=False")
        partial = archive.with_name(archive.name + ".part")
        _download(url, partial)
        partial.replace(archive)
    digest = sha256_of(archive)
    if expected is None:
        stamp.write_text(digest + "\n")
        warnings.warn(
            f"no published checksum for {archive.name}; recorded sha256 {digest} in {stamp} "
            "and will verify the cached file against it from now on",
            stacklevel=2,
        )
    elif digest != expected:
        archive.unlink()
        raise OSError(
            f"checksum mismatch for {archive.name} from {url}: expected {expected}, got {digest}; "
            "the file was deleted"
        )
    elif not stamp.is_file():
        stamp.write_text(digest + "\n")
    folder = home / archive.stem
    if not folder.is_dir():
        tmp = home / (archive.stem + ".unpacking")
        shutil.rmtree(tmp, ignore_errors=True)
        with zipfile.ZipFile(archive) as z:
            z.extractall(tmp)
        tmp.replace(folder)
    from mm_env.data.loaders import load_book  # pandas, only when a book is loaded

    books = sorted(folder.rglob(f"*_orderbook_{levels}.csv"))
    if len(books) != 1:
        raise OSError(f"{archive.name} holds {len(books)} orderbook files for {levels} levels")
    return load_book(books[0], on_error=on_error)
