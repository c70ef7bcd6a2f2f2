"""Fixed analytic policies with stable-baselines3's ``predict`` signature.

Each returns actions of the env's ``action_dim``: on a market-order env (three entries) the
limit-order policies send a market order of size 0 (:class:`baselines.base.SpreadSkewPolicy`),
:class:`RandomBaseline` a uniform random one.
"""

from baselines.alpha import AlphaOptimal
from baselines.analytic import GLFT, AvellanedaStoikov, AvellanedaStoikovSymmetric, CarteaJaimungal
from baselines.base import Policy
from baselines.skew import RandomBaseline, SkewBaseline, SymmetricBaseline

#: name -> class, for command lines
BASELINES = {
    "skew": SkewBaseline,
    "symmetric": SymmetricBaseline,
    "random": RandomBaseline,
    "avellaneda_stoikov": AvellanedaStoikov,
    "avellaneda_stoikov_symmetric": AvellanedaStoikovSymmetric,
    "glft": GLFT,
    "cartea_jaimungal": CarteaJaimungal,
    "alpha_optimal": AlphaOptimal,
}

__all__ = [
    "BASELINES",
    "AlphaOptimal",
    "GLFT",
    "AvellanedaStoikov",
    "AvellanedaStoikovSymmetric",
    "CarteaJaimungal",
    "Policy",
    "RandomBaseline",
    "SkewBaseline",
    "SymmetricBaseline",
]
