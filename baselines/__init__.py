"""Fixed analytic policies with stable-baselines3's ``predict`` signature."""

from baselines.base import Policy
from baselines.skew import RandomBaseline, SkewBaseline, SymmetricBaseline

#: name -> class, for command lines
BASELINES = {
    "skew": SkewBaseline,
    "symmetric": SymmetricBaseline,
    "random": RandomBaseline,
}

__all__ = ["BASELINES", "Policy", "RandomBaseline", "SkewBaseline", "SymmetricBaseline"]
