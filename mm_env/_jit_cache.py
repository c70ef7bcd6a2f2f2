"""Keep numba's on-disk cache of our kernels consistent with the source.

numba invalidates a cached kernel only when the file that defines it changes, not when a
helper or a constant it uses from another module does. Our scenario kernels inline helpers and
column constants from :mod:`mm_env.core`, so after an edit of core.py their cache would be
stale. On import we hash the sources kernels are built from (``core.py`` and ``scenarios/``);
when the hash differs from the one recorded beside the cache, every cached kernel of the
package is deleted (and recompiled on first use). Read-only installs are left alone (numba
then caches elsewhere or not at all).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
STAMP = PACKAGE / "__pycache__" / "numba-source-hash.txt"


def source_hash() -> str:
    h = hashlib.sha256()
    kernel_sources = [PACKAGE / "core.py", *sorted((PACKAGE / "scenarios").rglob("*.py"))]
    for path in kernel_sources:
        h.update(path.relative_to(PACKAGE).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def refresh() -> None:
    digest = source_hash()
    try:
        if STAMP.is_file() and STAMP.read_text().strip() == digest:
            return
        for pattern in ("*.nbi", "*.nbc"):
            for cached in PACKAGE.rglob(pattern):
                cached.unlink(missing_ok=True)
        STAMP.parent.mkdir(exist_ok=True)
        STAMP.write_text(digest + "\n")
    except OSError:
        pass
