"""A tiny BERT classifier and a word-level tokenizer of four words: Hugging Face objects made offline in
milliseconds, for the tests of the hooks that save and load them."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import tokenizers
import transformers


def tiny_bert() -> object:
    config = transformers.BertConfig(
        vocab_size=12, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8, num_labels=2
    )
    return transformers.BertForSequenceClassification(config)


def word_level() -> object:
    vocabulary = {word: index for index, word in enumerate(["[PAD]", "[UNK]", "good", "bad"])}
    words = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocabulary, unk_token="[UNK]"))
    return transformers.PreTrainedTokenizerFast(tokenizer_object=words, unk_token="[UNK]", pad_token="[PAD]")
