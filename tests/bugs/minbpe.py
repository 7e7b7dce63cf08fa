"""minbpe's buggy variants. encode, unicode, special tokens and save/load depend on get_stats
and merge (course.yaml depends_on), so a bug there leaves them not graded."""
from __future__ import annotations

from . import Bug

ENCODE_MIN = 'pair = min(stats, key=lambda p: self.merges.get(p, float("inf")))'
BY_FREQUENCY = ("pair = max((p for p in stats if p in self.merges), key=stats.get, "
                "default=next(iter(stats)))")
BUGS = {
    # after a match it steps one element instead of two: [7, 7, 7] -> [X, X, 7]
    "merge_overlaps": Bug({"base.py": [("            newids.append(idx)\n            i += 2",
                                        "            newids.append(idx)\n            i += 1")]},
                          fails="merge"),
    "basic_encode_by_frequency": Bug({"basic.py": [(ENCODE_MIN, BY_FREQUENCY)]},
                                     fails="basic_encode"),
    "regex_encode_by_frequency": Bug({"regex.py": [(ENCODE_MIN, BY_FREQUENCY)]},
                                     fails="regex_encode"),
    # the encode checks decode what they encode: a strict decode raises on the partial UTF-8
    # sequences of single tokens there
    "decode_strict_utf8": Bug({"regex.py": [('.decode("utf-8", errors="replace")',
                                             '.decode("utf-8")')],
                               "basic.py": [('.decode("utf-8", errors="replace")',
                                             '.decode("utf-8")')]},
                              raises="basic_encode regex_encode"),
    "specials_not_split_out": Bug({"regex.py": [("        if not special:\n",
                                                 "        if True:\n")]}, fails="special"),
    "decode_drops_special_tokens": Bug({"regex.py": [(
        '                part_bytes.append(self.inverse_special_tokens[idx].encode("utf-8"))',
        '                part_bytes.append(b"")')]}, fails="special"),
    "none_raise_never_raises": Bug({"regex.py": [(
        "            if any(token in text for token in self.special_tokens):",
        "            if False:")]}, fails="special"),
    "train_ignores_counts": Bug({"base.py": [(("pair = min(ties, key=first_seen) if len(ties) > 1 "
                                              "else ties[0]"), "pair = next(iter(stats))")]},
                                fails="basic_train regex_train"),
    "load_forgets_specials": Bug({"base.py": [(("        self.special_tokens = special_tokens\n"
                                                "        self.vocab = self._build_vocab()\n"
                                                "        ### END SOLUTION"),
                                               ("        self.vocab = self._build_vocab()\n"
                                                "        ### END SOLUTION"))]},
                                 fails="save_load"),
    # load() reads the merges back but decodes with the 256-byte vocab of a fresh tokenizer
    "load_never_rebuilds_vocab": Bug({"base.py": [(("        self.special_tokens = special_tokens\n"
                                                    "        self.vocab = self._build_vocab()\n"
                                                    "        ### END SOLUTION"),
                                                   ("        self.special_tokens = special_tokens\n"
                                                    "        ### END SOLUTION"))]},
                                     fails="save_load"),
}
