"""Keep numba's on-disk cache of our kernels consistent with the source.

numba invalidates a cached kernel only when the file that defines it changes, not when a
helper or a constant it uses from another module does. Our scenario kernels inline helpers and
column constants from :mod:`mm_env.core` and :mod:`mm_env.execution`, so after an edit of
either their cache would be stale. On import we hash the sources kernels are built from
(``core.py``, ``execution.py`` and ``scenarios/``); when the hash differs from the one
recorded beside the cache, every cached kernel of the package is deleted (and recompiled on
first use). Read-only installs are left alone (numba then caches elsewhere or not at all).

The cache lives where numba puts it: beside the sources (``__pycache__``), or, when the
environment variable ``NUMBA_CACHE_DIR`` is set, in one folder per source folder below it,
named ``<folder>_<sha1 of the folder's absolute path>`` (numba's ``UserProvidedCacheLocator``).
Both places are checked, each with its own record of the hash.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
STAMP_NAME = "numba-source-hash.txt"


def source_hash() -> str:
    h = hashlib.sha256()
    kernel_sources = [
        PACKAGE / "core.py",
        PACKAGE / "execution.py",
        *sorted((PACKAGE / "scenarios").rglob("*.py")),
    ]
    for path in kernel_sources:
        h.update(path.relative_to(PACKAGE).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def cache_folders() -> list[tuple[Path, Path]]:
    """(folder holding cached kernels, its hash record) for each place numba may use."""
    places = [(PACKAGE, PACKAGE / "__pycache__" / STAMP_NAME)]
    user_dir = os.environ.get("NUMBA_CACHE_DIR")
    if user_dir:
        root = Path(user_dir)
        for source_dir in (PACKAGE, *sorted(p for p in PACKAGE.rglob("*") if p.is_dir())):
            if source_dir.name == "__pycache__":
                continue
            digest = hashlib.sha1(str(source_dir).encode()).hexdigest()
            folder = root / f"{source_dir.name}_{digest}"
            places.append((folder, folder / STAMP_NAME))
    return places


def refresh() -> None:
    digest = source_hash()
    for folder, stamp in cache_folders():
        try:
            if stamp.is_file() and stamp.read_text().strip() == digest:
                continue
            for pattern in ("*.nbi", "*.nbc"):
                for cached in folder.rglob(pattern):
                    cached.unlink(missing_ok=True)
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(digest + "\n")
        except OSError:
            pass
