"""gensim's own file formats (``hooks/gensim.py``), with the real library: word2vec-format vectors written and read,
models trained from a ``corpus_file``, Matrix Market corpora serialized and read; its pickled saves still recorded."""

from __future__ import annotations

from pathlib import Path

import gensim.models.keyedvectors
import pytest
import xxhash
from gensim import corpora
from gensim.models import Doc2Vec, FastText, KeyedVectors, Word2Vec
from hooktools import RAW, only_output
from notebooks import model_source_names, run_notebook

from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.gensim import GensimInstrumentor
from nblineage.kernel_ext.hooks.models import PickleInstrumentor
from nblineage.kernel_ext.provenance import Source

INSTRUMENTORS = (PickleInstrumentor, GensimInstrumentor)
SENTENCES = [["good", "movie", "great"], ["bad", "movie", "awful"], ["fine", "nice", "movie"]] * 10


def source(path: Path) -> Source:
    return Source("file", str(path), xxhash.xxh3_128(path.read_bytes()).hexdigest())


def corpus_file(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("".join(" ".join(words) + "\n" for words in SENTENCES))
    return path


def trained(capture: Capture) -> Word2Vec:
    model = Word2Vec(SENTENCES, vector_size=8, min_count=1, seed=1, workers=1, epochs=1)
    capture.read(RAW, model.wv)
    return model


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_format_is_written_from_the_vectors_and_read_back(
    capture: Capture, tmp_path: Path, binary: bool
) -> None:
    model = trained(capture)
    vectors, vocab = tmp_path / "vectors.txt", tmp_path / "vocab.txt"
    model.wv.save_word2vec_format(str(vectors), fvocab=str(vocab), binary=binary)
    written = {output.source: output.provenance.sources for output in capture.record.outputs}
    assert written == {source(vectors): {RAW}, source(vocab): {RAW}}

    capture.take_record()
    loaded = KeyedVectors.load_word2vec_format(vectors, fvocab=vocab, binary=binary)
    assert capture.of(loaded).sources == {source(vectors), source(vocab)}
    assert set(capture.record.inputs) == {source(vectors), source(vocab)}
    again = gensim.models.keyedvectors.load_word2vec_format(str(vectors), binary=binary)  # the module's alias
    assert capture.of(again).sources == {source(vectors)}


@pytest.mark.parametrize("model_class", [Word2Vec, FastText, Doc2Vec])
def test_a_model_trained_from_a_corpus_file_derives_from_it(
    capture: Capture, tmp_path: Path, model_class: type
) -> None:
    path = corpus_file(tmp_path)
    model = model_class(corpus_file=str(path), vector_size=8, min_count=1, workers=1, epochs=1)
    assert capture.of(model).sources == {source(path)}
    assert capture.of(model.wv).sources == {source(path)}
    assert list(capture.record.inputs) == [source(path)]  # its own build_vocab and train: no reads of their own


def test_build_vocab_and_train_from_a_corpus_file(capture: Capture, tmp_path: Path) -> None:
    path = corpus_file(tmp_path)
    model = Word2Vec(vector_size=8, min_count=1, workers=1)
    assert not capture.of(model)
    model.build_vocab(corpus_file=path)
    model.train(
        corpus_file=str(path), total_examples=model.corpus_count, total_words=model.corpus_total_words, epochs=1
    )
    assert capture.of(model).sources == {source(path)}
    model.save(str(tmp_path / "w2v.model"))  # pickled: the model hooks' save, deriving from the file
    [saved] = [output for output in capture.record.outputs if output.source.name == str(tmp_path / "w2v.model")]
    assert saved.provenance.sources == {source(path)}
    capture.take_record()
    loaded = Word2Vec.load(str(tmp_path / "w2v.model"))
    assert capture.of(loaded).sources == {source(tmp_path / "w2v.model")}


def test_a_serialized_corpus_is_a_write_and_mmcorpus_a_read(capture: Capture, tmp_path: Path) -> None:
    dictionary = corpora.Dictionary(SENTENCES)
    capture.read(RAW, dictionary)
    dictionary.save(str(tmp_path / "d.dict"))  # pickled: the model hooks' save, as before
    assert only_output(capture).provenance.sources == {RAW}
    capture.take_record()
    names = {"bows": [dictionary.doc2bow(words) for words in SENTENCES]}
    capture.registry.tag(names["bows"], capture.exact({RAW}), binding=(names, "bows"))
    path = tmp_path / "corpus.mm"
    corpora.MmCorpus.serialize(str(path), names["bows"])
    output = only_output(capture)  # the .index file gensim pickles beside it is no output of its own
    assert output.source == source(path) and output.provenance.sources == {RAW}

    capture.take_record()
    corpus = corpora.MmCorpus(str(path))
    assert capture.of(corpus).sources == {source(path)}
    assert list(capture.record.inputs) == [source(path)]  # not its .index file
    assert len(list(corpus)) == len(SENTENCES)
    loaded = corpora.Dictionary.load(str(tmp_path / "d.dict"))
    assert capture.of(loaded).sources == {source(tmp_path / "d.dict")}


VECTORS_NOTEBOOK = [
    """import random, pandas as pd
rng = random.Random(0)
pos, neg = "good great fine nice".split(), "bad awful poor sad".split()
open("unlabeled.txt", "w").write("\\n".join(" ".join(rng.choices(pos + neg + ["movie"], k=6)) for _ in range(200)))
rows = [{"text": " ".join(rng.choices(pos if i % 2 else neg, k=5) + ["movie"]), "label": i % 2} for i in range(100)]
pd.DataFrame(rows).to_csv("labeled.csv", index=False)""",
    """from gensim.models import Word2Vec
sentences = [line.split() for line in open("unlabeled.txt")]
w2v = Word2Vec(sentences, vector_size=8, min_count=1, seed=1, workers=1)
w2v.wv.save_word2vec_format("vectors.txt")
ft = Word2Vec(corpus_file="unlabeled.txt", vector_size=8, min_count=1, workers=1)
ft.save("from_file.model")""",
    """import numpy as np, pandas as pd, joblib
from gensim.models import KeyedVectors
from sklearn.linear_model import LogisticRegression
wv = KeyedVectors.load_word2vec_format("vectors.txt")
df = pd.read_csv("labeled.csv")
X = np.array([np.mean([wv[w] for w in t.split()], axis=0) for t in df["text"]])
joblib.dump(LogisticRegression().fit(X, df["label"]), "clf.joblib")""",
    """from gensim import corpora
dictionary = corpora.Dictionary(sentences)
corpora.MmCorpus.serialize("corpus.mm", [dictionary.doc2bow(words) for words in sentences])""",
    """import pickle
corpus = corpora.MmCorpus("corpus.mm")
pickle.dump([len(doc) for doc in corpus], open("lengths.pkl", "wb"))""",
]


def test_vectors_corpora_and_models_in_a_notebook(tmp_path: Path, store_url: str) -> None:
    env = {"NBLINEAGE_URL": store_url, "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "NBLINEAGE_STRICT": "1"}
    run_notebook(tmp_path / "vectors.ipynb", [f"import os; os.chdir({str(tmp_path)!r})", *VECTORS_NOTEBOOK], env)
    assert model_source_names(store_url, tmp_path / "vectors.txt") == {"unlabeled.txt"}
    assert model_source_names(store_url, tmp_path / "from_file.model") == {"unlabeled.txt"}
    assert model_source_names(store_url, tmp_path / "clf.joblib") == {"labeled.csv", "vectors.txt", "unlabeled.txt"}
    assert model_source_names(store_url, tmp_path / "corpus.mm") == {"unlabeled.txt"}
    assert model_source_names(store_url, tmp_path / "lengths.pkl") == {"corpus.mm", "unlabeled.txt"}
