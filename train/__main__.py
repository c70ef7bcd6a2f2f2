"""Command line: ``python -m train <command>`` (also installed as ``mm-train``).

Commands:
    demo    the seed notebook's experiment on the default scenario with the κ/φ baseline
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mm-train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="the notebook's experiment, end to end")
    demo.add_argument("--env-id", default="mm_env/MarketMaking-v0")
    demo.add_argument("--seeds", type=int, default=32, help="episodes per kappa in the table")
    demo.add_argument("--n-steps", type=int, default=None, help="override the episode length")
    demo.add_argument("--out", default="reports", help="folder for the plots and the config")
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            from train.demo import run_demo

            run_demo(env_id=args.env_id, n_seeds=args.seeds, n_steps=args.n_steps, out=args.out)
    except (ValueError, FileNotFoundError) as exc:
        print(f"mm-train: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
