"""Lightning checkpoints: ``LightningModule.load_from_checkpoint(path)`` is a read of the file, which the module
loaded carries (a model fine-tuned from it, or scored, derives from it). ``Trainer.save_checkpoint(filepath)``,
which the ``ModelCheckpoint`` callback calls for each ``.ckpt`` it writes during ``trainer.fit``, saves the
trainer's ``LightningModule``.

The file is a model output as a ``torch.save`` of the module is (``hooks/models.py``): its inputs are the module's
provenance, which the PyTorch training rule gives it (``hooks/tensors.py``), and its description the module's class,
framework and parameter count, with the module's ``hparams`` as hyper-parameters and the checkpoint's format.
Both the ``lightning`` package and the standalone ``pytorch_lightning`` are patched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nblineage.kernel_ext import guard
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.describe import json_safe
from nblineage.kernel_ext.hooks.loads import record_load
from nblineage.kernel_ext.hooks.models import record_save
from nblineage.kernel_ext.instrument import Instrumentor, Patch, defining_class, intercept, wrap_class_method

__all__ = ["LightningInstrumentor"]

FORMAT = "lightning_checkpoint"


class LightningInstrumentor(Instrumentor):
    """``Trainer.save_checkpoint`` of ``lightning.pytorch`` and ``pytorch_lightning``."""

    modules = (
        "lightning.pytorch.trainer.trainer",
        "pytorch_lightning.trainer.trainer",
        "lightning.pytorch.core.module",
        "pytorch_lightning.core.module",
    )

    def patches(self, module: Any) -> Iterable[Patch]:
        lightning_module = getattr(module, "LightningModule", None)
        if module.__name__.endswith(".core.module") and isinstance(lightning_module, type):
            where = f"{module.__name__.partition('.core')[0]} LightningModule.load_from_checkpoint"
            wrap_class_method(self, lightning_module, "load_from_checkpoint", intercept(where, _loaded))
            return
        owner = defining_class(getattr(module, "Trainer", None), "save_checkpoint")
        if owner is not None:
            where = f"{module.__name__.partition('.trainer')[0]} Trainer.save_checkpoint"
            yield owner, "save_checkpoint", intercept(where, _saved, before=_check)


def _module(args: tuple, kwargs: dict) -> tuple[Any, Any]:
    """The ``LightningModule`` a ``trainer.save_checkpoint(filepath)`` call saves, and the file."""
    trainer = args[0] if args else None
    return getattr(trainer, "lightning_module", None), argument(args, kwargs, 1, "filepath", None)


def _check(capture: Capture, args: tuple, kwargs: dict) -> None:
    module, target = _module(args, kwargs)
    if module is not None and target is not None:
        guard.check_write(capture, module, target)


def _saved(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    module, target = _module(args, kwargs)
    if module is None or target is None:
        return
    outputs = capture.record.outputs
    before = len(outputs)
    record_save(capture, module, target)
    if len(outputs) <= before or outputs[-1].model is None:
        return
    model = outputs[-1].model
    model["format"] = FORMAT
    if argument(args, kwargs, 2, "weights_only", None):
        model["weightsOnly"] = True
    hparams = getattr(module, "hparams", None)
    if isinstance(hparams, Mapping) and hparams:
        safe = json_safe(dict(hparams))
        if isinstance(safe, dict):
            model["hyperParameters"] = safe


def _loaded(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``LitModel.load_from_checkpoint(checkpoint_path)``: a read of the checkpoint file (a local path)."""
    target = argument(args, kwargs, 1, "checkpoint_path", None)
    if result is not None and target is not None:
        record_load(capture, target, result)
