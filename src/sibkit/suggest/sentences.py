"""Moved to :mod:`sibkit.text.sentences` (one sentence splitter for matching, suggestions, the reader
and the audit); kept here so that ``sibkit.suggest.sentences`` imports keep working."""

from sibkit.text.sentences import Sentence, split_sentences

__all__ = ["Sentence", "split_sentences"]
