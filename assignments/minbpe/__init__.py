"""Lecture 8: Let's build the GPT Tokenizer — minimal byte-level Byte Pair Encoding.

The API of Karpathy's minbpe: `BasicTokenizer` (BPE on raw bytes), `RegexTokenizer` (BPE within
the chunks of a GPT-2/GPT-4 split pattern, plus special tokens) and `GPT4Tokenizer` (the GPT-4
tokenizer rebuilt from tiktoken's cl100k_base ranks).
"""
from .base import Tokenizer
from .basic import BasicTokenizer
from .gpt4 import GPT4Tokenizer
from .regex import RegexTokenizer

__all__ = ["BasicTokenizer", "GPT4Tokenizer", "RegexTokenizer", "Tokenizer"]
