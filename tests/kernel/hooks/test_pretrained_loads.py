"""Loads of saved models as reads, in one process: ``from_pretrained`` of a local folder (a model's, a tokenizer's),
a Hub name that cannot be fetched (nothing recorded, the library's own error), Lightning's
``load_from_checkpoint``, and a ``tokenizers.Tokenizer`` trained from a split's column or files, saved and loaded
(the notebooks these come from run in real kernels: ``test_pretrained_notebooks.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hooktools import RAW, only_output

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.fingerprint import file_version
from nblineage.kernel_ext.hooks.hf_datasets import HfDatasetsInstrumentor
from nblineage.kernel_ext.hooks.lightning import LightningInstrumentor
from nblineage.kernel_ext.hooks.models import TorchInstrumentor
from nblineage.kernel_ext.hooks.transformers import TransformersInstrumentor
from nblineage.kernel_ext.provenance import Source

os.environ.setdefault("HF_HUB_OFFLINE", "1")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from tiny_hf import tiny_bert, word_level  # noqa: E402

INSTRUMENTORS = (TorchInstrumentor, TransformersInstrumentor, LightningInstrumentor, HfDatasetsInstrumentor)


def test_from_pretrained_of_a_local_folder_reads_the_version_saved(capture: Capture, tmp_path: Path) -> None:
    model, words = tiny_bert(), word_level()
    capture.read(RAW, model)
    folder = tmp_path / "classifier"
    model.save_pretrained(folder)
    words.save_pretrained(folder)
    saved = only_output(capture).source
    capture.take_record()
    again = transformers.AutoModelForSequenceClassification.from_pretrained(str(folder))
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    assert [source for source, _ in capture.record.inputs.items()] == [saved]
    assert saved == Source("file", str(folder), file_version(folder))
    assert capture.of(again).sources == {saved} and capture.of(tokenizer).sources == {saved}
    assert capture.record.outputs == []


def test_from_pretrained_of_a_hub_name_records_nothing_and_raises_as_without_hooks(capture: Capture) -> None:
    with pytest.raises(OSError):
        transformers.AutoModel.from_pretrained("nblineage-test/not-a-model")
    with pytest.raises(OSError):
        transformers.BertForSequenceClassification.from_pretrained("nblineage-test/not-a-model")
    assert not capture.record.inputs and not capture.record.outputs


def test_load_from_checkpoint_reads_the_checkpoint(capture: Capture, tmp_path: Path) -> None:
    lightning = pytest.importorskip("pytorch_lightning")
    torch = pytest.importorskip("torch")

    class Regressor(lightning.LightningModule):
        def __init__(self, width: int = 3) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.layer = torch.nn.Linear(width, 1)

    module = Regressor()
    capture.read(RAW, module)
    path = tmp_path / "regressor.ckpt"
    trainer = lightning.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.strategy.connect(module)
    trainer.save_checkpoint(path)
    saved = only_output(capture).source
    capture.take_record()
    loaded = Regressor.load_from_checkpoint(path)
    assert list(capture.record.inputs) == [saved] and capture.of(loaded).sources == {saved}
    with pytest.raises(TypeError):  # still refused on an instance, as without hooks
        loaded.load_from_checkpoint(path)


def test_a_tokenizer_trained_on_a_split_derives_from_it_saved_and_loaded(capture: Capture, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    (tmp_path / "train.csv").write_text("text\ngood plot\nbad actor\n")
    (tmp_path / "test.csv").write_text("text\ndull scene\n")
    files = {"train": str(tmp_path / "train.csv"), "test": str(tmp_path / "test.csv")}
    ds = datasets.load_dataset("csv", data_files=files, cache_dir=str(tmp_path / "cache"))
    train = next(source for source in capture.record.inputs if source.name.endswith("train.csv"))
    tokenizer = tokenizers.Tokenizer(tokenizers.models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    trainer = tokenizers.trainers.BpeTrainer(special_tokens=["[UNK]"], vocab_size=40)
    tokenizer.train_from_iterator(ds["train"]["text"], trainer=trainer)
    assert capture.of(tokenizer).sources == {train}
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    output = only_output(capture)
    assert output.source == Source("file", str(tmp_path / "tokenizer.json"), file_version(tmp_path / "tokenizer.json"))
    assert output.provenance.sources == {train} and output.model is None
    capture.take_record()
    loaded = tokenizers.Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    assert list(capture.record.inputs) == [output.source] and capture.of(loaded).sources == {output.source}
    files_trained = tokenizers.Tokenizer(tokenizers.models.BPE(unk_token="[UNK]"))
    files_trained.train([str(tmp_path / "train.csv")], trainer)
    assert {source.name for source in capture.of(files_trained).sources} == {files["train"]}


def test_uninstrument_restores_the_loads() -> None:
    lightning = pytest.importorskip("pytorch_lightning")
    held = lightning.LightningModule.__dict__["load_from_checkpoint"]
    methods = [
        (transformers.PreTrainedModel, "from_pretrained"),
        (transformers.PreTrainedTokenizerBase, "from_pretrained"),
        (tokenizers.Tokenizer, "from_file"),
        (tokenizers.Tokenizer, "save"),
        (tokenizers.implementations.BaseTokenizer, "save_model"),
    ]
    originals = [cls.__dict__[name] for cls, name in methods]
    method = held.method
    instrumentors = [TransformersInstrumentor(), LightningInstrumentor()]
    for instrumentor in instrumentors:
        instrumentor.instrument()
    assert all(cls.__dict__[name] is not original for (cls, name), original in zip(methods, originals, strict=True))
    assert held.method is not method
    for instrumentor in instrumentors:
        instrumentor.uninstrument()
    assert all(cls.__dict__[name] is original for (cls, name), original in zip(methods, originals, strict=True))
    assert held.method is method


def test_a_byte_level_bpe_tokenizer_trained_on_files_saves_its_model_files(capture: Capture, tmp_path: Path) -> None:
    corpus = tmp_path / "oscar.eo.txt"
    corpus.write_text("saluton mondo\nbonan tagon\n" * 20)
    tokenizer = tokenizers.ByteLevelBPETokenizer()
    tokenizer.train(files=[str(corpus)], vocab_size=300, min_frequency=2, special_tokens=["<s>", "<pad>", "</s>"])
    read = only_input(capture)
    (tmp_path / "EsperBERTo").mkdir()
    tokenizer.save_model(str(tmp_path / "EsperBERTo"))
    written = {os.path.basename(output.source.name): output.provenance.sources for output in capture.record.outputs}
    assert written == {"vocab.json": {read}, "merges.txt": {read}}


def only_input(capture: Capture) -> Source:
    (source,) = capture.record.inputs
    return source
