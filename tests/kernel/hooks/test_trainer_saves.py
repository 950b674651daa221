"""``save_pretrained`` of a model and its tokenizer, and a Lightning ``save_checkpoint``, in one process: outputs,
merging, faults and undo (the trainers themselves run in real kernels: ``test_trainers.py``)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from hooktools import RAW, only_output

from nblineage.kernel_ext import safety
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.fingerprint import file_version
from nblineage.kernel_ext.hooks import transformers as transformers_hooks
from nblineage.kernel_ext.hooks.lightning import LightningInstrumentor
from nblineage.kernel_ext.hooks.models import TorchInstrumentor
from nblineage.kernel_ext.hooks.transformers import TransformersInstrumentor
from nblineage.kernel_ext.provenance import Source
from nblineage.kernel_ext.safety import HookError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from tiny_hf import tiny_bert, word_level  # noqa: E402

INSTRUMENTORS = (TorchInstrumentor, TransformersInstrumentor, LightningInstrumentor)
MODEL = {"datasetType": {"datasetType": "MODEL"}}


def test_a_model_and_its_tokenizer_saved_into_one_folder_are_one_model_output(capture: Capture, tmp_path: Path) -> None:
    model, words = tiny_bert(), word_level()
    capture.read(RAW, model)
    folder = tmp_path / "classifier"
    model.save_pretrained(folder)
    words.save_pretrained(str(folder))
    output = only_output(capture)
    assert output.source == Source("file", str(folder), file_version(folder))  # the version once both are written
    assert output.provenance.sources == {RAW} and output.facets == MODEL
    assert output.model is not None and output.model["framework"] == "transformers"
    assert output.model["class"] == "transformers.models.bert.modeling_bert.BertForSequenceClassification"
    assert output.model["nParameters"] == sum(p.numel() for p in model.parameters())
    assert output.model["hyperParameters"]["hidden_size"] == 8
    assert output.model["sizeBytes"] == sum(path.stat().st_size for path in folder.iterdir())
    again = transformers.BertForSequenceClassification.from_pretrained(folder)
    assert sum(p.numel() for p in again.parameters()) == output.model["nParameters"]


def test_a_tokenizer_saved_alone_is_a_dataset(capture: Capture, tmp_path: Path) -> None:
    words = word_level()
    capture.read(RAW, words)
    words.save_pretrained(tmp_path / "tokenizer")
    output = only_output(capture)
    assert output.model is None and output.provenance.sources == {RAW}
    assert output.source.name == str(tmp_path / "tokenizer")


def test_a_lightning_checkpoint_is_a_model_output(capture: Capture, tmp_path: Path) -> None:
    lightning = pytest.importorskip("pytorch_lightning")
    torch = pytest.importorskip("torch")

    class Regressor(lightning.LightningModule):
        def __init__(self, width: int = 3) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.layer = torch.nn.Linear(width, 1)

        def training_step(self, batch: tuple, batch_idx: int) -> object:
            return torch.nn.functional.mse_loss(self.layer(batch[0]), batch[1])

        def configure_optimizers(self) -> object:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    module = Regressor()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.ones(8, 3), torch.ones(8, 1)))
    trainer = lightning.Trainer(
        max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False
    )
    trainer.fit(module, loader)
    capture.take_record()
    capture.read(RAW, module)
    path = tmp_path / "weights.ckpt"
    trainer.save_checkpoint(path, weights_only=True)
    output = only_output(capture)
    assert output.source == Source("file", str(path), file_version(path))
    assert output.provenance.sources == {RAW} and output.facets == MODEL
    assert output.model is not None and output.model["framework"] == "pytorch"
    assert output.model["class"].endswith("Regressor") and output.model["nParameters"] == 4
    assert output.model["format"] == "lightning_checkpoint" and output.model["weightsOnly"] is True
    assert output.model["hyperParameters"] == {"width": 3}
    assert "state_dict" in torch.load(path, weights_only=False)


def test_a_hook_fault_raises_only_when_strict(
    capture: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tiny_bert()

    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(transformers_hooks, "describe_model", broken)
    with pytest.raises(HookError, match="save_pretrained"):
        model.save_pretrained(tmp_path / "strict")
    assert (tmp_path / "strict" / "config.json").exists()  # the save itself ran
    monkeypatch.delenv("NBLINEAGE_STRICT", raising=False)
    monkeypatch.setattr(safety, "errors", Counter())
    with pytest.warns(RuntimeWarning, match="your code ran normally"):
        assert model.save_pretrained(tmp_path / "model") is None
    assert (tmp_path / "model" / "config.json").exists() and capture.record.outputs == []


def test_uninstrument_restores_the_methods() -> None:
    methods = [
        (transformers.PreTrainedModel, "save_pretrained"),
        (transformers.PreTrainedTokenizerBase, "save_pretrained"),
        (transformers.Trainer, "save_model"),
        (transformers.Trainer, "_save_checkpoint"),
    ]
    originals = [cls.__dict__[name] for cls, name in methods]
    instrumentor = TransformersInstrumentor()
    instrumentor.instrument()
    assert all(cls.__dict__[name] is not original for (cls, name), original in zip(methods, originals, strict=True))
    instrumentor.uninstrument()
    assert all(cls.__dict__[name] is original for (cls, name), original in zip(methods, originals, strict=True))
