"""Renderers: a text ladder of the book (``"ansi"``) and a figure of the episode (``"rgb_array"``).

matplotlib is imported only by :func:`rgb_figure`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def ansi_ladder(
    book: dict[str, NDArray[np.float64]], info: dict[str, float], depth: int = 5
) -> str:
    """The top ``depth`` levels of each side, asks above bids, with our quotes marked."""
    lines = [
        f"step {int(info['step'])}  mid {info['mid']:.4f}  inventory {info['inventory']:+.3f}  "
        f"pnl {info['pnl']:+.4f}",
        f"{'price':>12} {'size':>10}",
    ]
    ask_q, bid_q = info["ask_quote"], info["bid_quote"]
    asks = list(zip(book["ask_prices"][:depth], book["ask_sizes"][:depth]))
    for price, size in reversed(asks):
        lines.append(f"{price:12.4f} {size:10.3f}  ask")
    lines.append(f"{'':12} {'':10}  -- our ask {ask_q:.4f} / our bid {bid_q:.4f} --")
    for price, size in zip(book["bid_prices"][:depth], book["bid_sizes"][:depth]):
        lines.append(f"{price:12.4f} {size:10.3f}  bid")
    return "\n".join(lines) + "\n"


def rgb_figure(history: dict[str, list[float]], info: dict[str, float]) -> NDArray[np.uint8]:
    """Mid and our quotes, inventory and PnL so far, as an H x W x 3 uint8 image."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 6), dpi=80)
    canvas = FigureCanvasAgg(fig)
    axes: Any = fig.subplots(3, 1, sharex=True)
    steps = np.arange(1, len(history.get("mid", [])) + 1)
    if steps.size:
        axes[0].plot(steps, history["mid"], label="mid", lw=1)
        axes[0].plot(steps, history["bid_quote"], label="our bid", lw=0.8)
        axes[0].plot(steps, history["ask_quote"], label="our ask", lw=0.8)
        axes[0].legend(loc="upper left", fontsize=7)
        axes[1].plot(steps, history["inventory"], color="tab:purple", lw=1)
        axes[2].plot(steps, history["pnl"], color="tab:green", lw=1)
    axes[0].set_ylabel("price")
    axes[1].set_ylabel("inventory")
    axes[2].set_ylabel("PnL")
    axes[2].set_xlabel("step")
    fig.tight_layout()
    canvas.draw()
    image = np.asarray(canvas.buffer_rgba())[..., :3].copy()
    return image
