"""Optuna: what a study's trials keep (``trial.set_user_attr("model", fitted)``, ``study.set_user_attr``, Optuna's
own recipe for keeping the model of the best trial) keeps its provenance through the copies Optuna hands back.

Optuna stores a user attribute and returns deep copies of it (``study.best_trial.user_attrs["model"]``,
``study.user_attrs``, ``trial.user_attrs``): a new object, which no hook saw. ``set_user_attr`` remembers what the
value derived from, by its trial or study (a storage's id) and key, and each read of ``user_attrs`` gives the values
it returns their key's provenance, so a model saved from there derives from the data its trial's fit read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.instrument import After, Instrumentor, Patch, intercept

__all__ = ["OptunaInstrumentor"]

MAX_KEPT = 4096  # (owner, key) pairs remembered
_kept: dict[tuple[str, int, int, str], Any] = {}  # (trial or study, storage id, its id, key) -> the value's provenance


def _owner(obj: Any) -> tuple[str, int, int] | None:
    """A trial (``Trial``, ``FrozenTrial``) or a study, as its storage names it; None for anything else."""
    trial_id = getattr(obj, "_trial_id", None)
    if isinstance(trial_id, int):
        return "trial", id(obj.storage) if hasattr(obj, "storage") else 0, trial_id  # a FrozenTrial has none
    study_id = getattr(obj, "_study_id", None)
    if isinstance(study_id, int):
        return "study", id(getattr(obj, "_storage", None)), study_id
    return None


def _set(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``set_user_attr(key, value)``: what the value derives from, kept by its owner and key."""
    owner = _owner(args[0])
    key, value = argument(args, kwargs, 1, "key", None), argument(args, kwargs, 2, "value", None)
    provenance = capture.of(value) if value is not None else None
    if owner is None or not isinstance(key, str) or not provenance:
        return
    if len(_kept) >= MAX_KEPT:
        _kept.clear()
    _kept[(*owner, key)] = provenance
    if owner[0] == "trial":  # a FrozenTrial of it has no storage to name: found by its id alone
        _kept[("trial", 0, owner[2], key)] = provenance


def _read(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``user_attrs``: each value kept with provenance gets it back (it is Optuna's copy, no hook saw it)."""
    owner = _owner(args[0])
    if owner is None or not _kept or type(result) is not dict:
        return
    for key, value in list(result.items())[:64]:
        provenance = _kept.get((*owner, key)) if isinstance(key, str) else None
        if provenance is None and owner[0] == "trial":
            provenance = _kept.get(("trial", 0, owner[2], key))
        if provenance and value is not None and not capture.of(value):
            capture.registry.tag(value, provenance)


SET: After = _set
READ: After = _read


class OptunaInstrumentor(Instrumentor):
    """``Trial.set_user_attr``, ``Study.set_user_attr`` and the ``user_attrs`` of trials, frozen trials and studies
    (module docstring)."""

    modules = ("optuna",)

    def patches(self, module: Any) -> Iterable[Patch]:
        from optuna.study import Study
        from optuna.trial import FrozenTrial, Trial

        for cls in (Trial, Study):
            yield cls, "set_user_attr", intercept(f"optuna {cls.__name__}.set_user_attr", SET)
        for cls in (Trial, FrozenTrial, Study):
            yield cls, "user_attrs", intercept(f"optuna {cls.__name__}.user_attrs", READ)
