"""Ray as the engine of every fan-out of the command line (sensitivity cells, the evaluations of
``compare``, the seeds of ``fit --seeds``, the trials of ``tune``).

Ray is an optional dependency (``pip install 'mm_env[tune]'``): nothing here imports it at module
level, and ``import mm_env`` never does. Without Ray, or with ``--workers 1``, the pieces run one
after the other in this process; with Ray, each piece is a task (``ray.remote``) on a local Ray
started in-process (``ray.init(num_cpus=...)``) or on the cluster given by ``--address``. The
pieces are seeded, so either way gives the same numbers.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.util import find_spec
from typing import Any, TypeVar

from train.common import CliError

T = TypeVar("T")
R = TypeVar("R")

#: the object store of a local Ray started by a command (results are small: per-episode
#: metrics and, for reports, per-step series of a few policies); Ray spills to disk beyond it
LOCAL_OBJECT_STORE_BYTES = 512 * 2**20
#: seconds to wait for a TCP connection to ``--address`` before calling it unreachable
CONNECT_TIMEOUT = 5.0

RAY_EXTRA = "pip install 'mm_env[tune]'"


def ray_installed() -> bool:
    return find_spec("ray") is not None


def check_workers(workers: int | None) -> int | None:
    if workers is not None and workers < 1:
        raise CliError(f"--workers must be at least 1 (got {workers})")
    if workers is not None and workers > 1 and not ray_installed():
        raise CliError(f"--workers {workers} runs on Ray, which is not installed ({RAY_EXTRA})")
    return workers


def use_ray(workers: int | None, address: str | None = None) -> bool:
    """Ray is the engine when installed, unless ``--workers 1`` asks for the serial path."""
    check_workers(workers)
    if address is not None:
        if not ray_installed():
            raise CliError(f"--address needs Ray, which is not installed ({RAY_EXTRA})")
        if workers == 1:
            raise CliError("--address and --workers 1 contradict each other")
        return True
    return ray_installed() and workers != 1


def check_address(address: str) -> None:
    """Fail fast, in one line, on an address no Ray head answers on (``ray.init`` would wait
    and print pages). ``auto`` (the cluster this node belongs to) is left to Ray."""
    if address == "auto":
        return
    text = address.removeprefix("ray://")
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise CliError(f"--address must be host:port, ray://host:port or auto (got {address!r})")
    try:
        with socket.create_connection((host.strip("[]"), int(port_text)), CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        raise CliError(f"no Ray cluster answers at {address} ({exc})") from exc


def limit_threads(n: int) -> None:
    """Give torch and numba ``n`` threads each, so that pieces sharing a node do not
    oversubscribe its cores (Ray itself sets OMP_NUM_THREADS for its workers)."""
    n = max(int(n), 1)
    import numba

    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    if find_spec("torch") is not None:
        import torch

        torch.set_num_threads(n)


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """Ray for the duration of a command: joins ``address`` (a running cluster) or starts a
    local Ray with ``num_cpus`` CPUs (default: all of this machine's); shuts down what it
    started. Inside an already initialised Ray (a test fixture, a notebook) it does nothing."""
    if not ray_installed():
        raise CliError(f"this needs Ray, which is not installed ({RAY_EXTRA})")
    import logging

    import ray

    if address is not None:
        check_address(address)
    if ray.is_initialized():
        yield ray
        return
    if address is not None:
        _use_cluster_token()
        try:
            ray.init(address=address, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError) as exc:
            raise CliError(f"cannot join the Ray cluster at {address}: {exc}") from exc
    else:
        ray.init(
            num_cpus=num_cpus or os.cpu_count() or 1,
            include_dashboard=False,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES,
            logging_level=logging.WARNING,
        )
    try:
        yield ray
    finally:
        ray.shutdown()


def _use_cluster_token() -> None:
    """Recent Ray (2.5x) protects a cluster with a token (``ray start --head`` writes
    ``~/.ray/auth_token``), but a driver joining with ``ray.init(address=...)`` sends it only
    with RAY_AUTH_MODE=token; set that, as ``ray start`` does, when a token is at hand and the
    mode is not chosen already (a token-mode driver also joins a cluster without tokens)."""
    from pathlib import Path

    if "RAY_AUTH_MODE" in os.environ:
        return
    path = Path(os.environ.get("RAY_AUTH_TOKEN_PATH", Path.home() / ".ray" / "auth_token"))
    if not (os.environ.get("RAY_AUTH_TOKEN") or path.is_file()):
        return
    try:  # Ray's own switch (private): sets the mode and refreshes Ray's cached config
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:  # a Ray without tokens: the variable is harmless
        os.environ["RAY_AUTH_MODE"] = "token"
    else:
        maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def _run_piece(fn: Callable[[Any], Any], item: Any, threads: int) -> Any:
    """The body of a Ray task: one piece with ``threads`` threads for torch and numba."""
    limit_threads(threads)
    return fn(item)


def fan_out(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int | None = None,
    cpus_per_task: float = 1,
    address: str | None = None,
    progress: bool = False,
    desc: str = "",
) -> list[R]:
    """``[fn(x) for x in items]``, in order: serially with ``workers=1`` (or without Ray),
    else each ``fn(x)`` as a Ray task of ``cpus_per_task`` CPUs. ``fn`` must be a module-level
    function (Ray ships it by reference). A piece's exception is re-raised as itself."""
    from tqdm import tqdm

    if not use_ray(workers, address):
        return [fn(x) for x in tqdm(items, disable=not progress, desc=desc)]
    num_cpus = None
    if workers is not None:
        num_cpus = min(os.cpu_count() or 1, max(int(workers * cpus_per_task), 1))
    with ray_session(address, num_cpus) as ray:
        from ray.exceptions import RayTaskError

        task = ray.remote(num_cpus=cpus_per_task)(_run_piece)
        threads = max(int(cpus_per_task), 1)
        refs = [task.remote(fn, x, threads) for x in items]
        index = {ref: i for i, ref in enumerate(refs)}
        out: list[Any] = [None] * len(refs)
        pending = list(refs)
        try:
            with tqdm(total=len(refs), disable=not progress, desc=desc) as bar:
                while pending:
                    done, pending = ray.wait(pending, num_returns=1)
                    for ref in done:
                        out[index[ref]] = ray.get(ref)
                        bar.update(1)
        except RayTaskError as exc:
            for ref in pending:
                ray.cancel(ref)
            cause = getattr(exc, "cause", None)
            if isinstance(cause, BaseException):
                raise cause from None
            raise
        return out


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,1,7"``; ``"0-2,9"``. Duplicates are refused."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        lo, dash, hi = part.partition("-")
        try:
            if dash:
                a, b = int(lo), int(hi)
                if b < a:
                    raise CliError(f"--seeds range {part!r} is empty (end below start)")
                seeds.extend(range(a, b + 1))
            else:
                seeds.append(int(part))
        except ValueError as exc:
            raise CliError(f"--seeds must be like 0-4 or 0,1,2 (got {text!r})") from exc
    if not seeds:
        raise CliError(f"--seeds names no seed (got {text!r})")
    if len(set(seeds)) != len(seeds):
        raise CliError(f"--seeds names a seed twice (got {text!r})")
    return seeds
