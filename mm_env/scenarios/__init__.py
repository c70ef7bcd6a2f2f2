"""Scenarios: a book model and its fill rules, each as one ``Simulator`` over the shared core."""

from mm_env.scenarios.avellaneda_stoikov import AvellanedaStoikovSimulator
from mm_env.scenarios.notebook import NotebookSimulator
from mm_env.scenarios.replay import ReplaySimulator
from mm_env.scenarios.synthetic import SyntheticSimulator

__all__ = [
    "AvellanedaStoikovSimulator",
    "NotebookSimulator",
    "ReplaySimulator",
    "SyntheticSimulator",
]
