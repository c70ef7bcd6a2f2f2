"""Fixed analytic policies with stable-baselines3's ``predict`` signature."""

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
