#!/usr/bin/env python3
"""Make the sacrebleu reference fixture for mergeflow's chrF (EvaluationTests).

Every score in the fixture is computed by sacrebleu itself, with its default
metric `CHRF()` (char_order 6, word_order 0, beta 2, whitespace not included,
eps_smoothing False) through `sentence_score(hypothesis, [reference])`, so the
Swift `ChrF` can be checked against the reference without Python.

What it writes (relative to the repo root):

  Tests/EvaluationTests/Fixtures/chrf.json
    {"sacrebleu": version, "signature": the metric's signature string,
     "cases": [{"name", "hypothesis", "reference",
                "chrf": sentence score (0-100, Python float repr, exact),
                "statistics": [hyp, ref, match] counts per character order
                              1..6, flattened (18 ints), as sacrebleu
                              computes them before the F-score}]}

The strings are made up: identical and empty strings, one-character strings,
partial overlaps, short translations in en/fr/es/ru/ar/hi, Unicode whitespace
(Python's str.split() set, which is wider than Unicode's White_Space), and
strings that are canonically equivalent but differ in code points (sacrebleu
compares code points; Swift's String == would call them equal).

Run (from the repo root; the venv lives outside the repo):

  python3 -m venv /tmp/chrf && /tmp/chrf/bin/pip install sacrebleu
  /tmp/chrf/bin/python scripts/reference/make_chrf_fixtures.py

The output is deterministic. The script prints the versions used; record them
in scripts/reference/README-chrf.md if they change.
"""

import json
import os
import platform
import sys
import unicodedata

import sacrebleu
from sacrebleu.metrics import CHRF

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "EvaluationTests", "Fixtures", "chrf.json")

NFC = lambda s: unicodedata.normalize("NFC", s)
NFD = lambda s: unicodedata.normalize("NFD", s)

# (name, hypothesis, reference)
CASES = [
    # Degenerate inputs.
    ("identical_sentence", "The cat sat on the mat.", "The cat sat on the mat."),
    ("identical_one_char", "a", "a"),
    ("different_one_char", "a", "b"),
    ("both_empty", "", ""),
    ("empty_hypothesis", "", "The cat sat on the mat."),
    ("empty_reference", "The cat sat on the mat.", ""),
    ("whitespace_hypothesis", "   \t ", "abc"),
    ("both_whitespace", " ", "\n"),
    ("no_common_characters", "abc", "xyz"),
    ("one_char_in_reference", "a", "banana"),
    ("reference_one_char", "banana", "a"),
    # Orders that exist on one side only (effective order < 6).
    ("prefix_hypothesis", "ab", "abcdef"),
    ("hypothesis_extends_reference", "abcdef", "ab"),
    ("reversed", "abc", "cba"),
    ("repeated_ngrams_clipped", "aaaa", "aa"),
    ("repeated_char_long", "aaaaaaaa", "a"),
    # Whitespace: removed before extracting n-grams.
    ("extra_spaces", "the  cat   sat", "the cat sat"),
    ("leading_trailing_whitespace", "\t the cat sat \n", "the cat sat"),
    ("crlf", "line one\r\nline two", "line one line two"),
    ("spaces_join_words", "thecatsat", "the cat sat"),
    ("nbsp_and_ideographic_space", "the\u00a0cat\u3000sat", "the cat sat"),
    ("python_only_whitespace_x1f", "the\u001fcat\u001csat", "the cat sat"),
    ("zero_width_space_is_not_whitespace", "the\u200bcat sat", "the cat sat"),
    # English.
    ("en_partial", "The cat is on the mat.", "There is a cat on the mat."),
    ("en_case", "Hello World", "hello world"),
    ("en_numbers", "Version 2.0 was released in 2021.", "Version 2.1 was released in 2022."),
    ("en_punctuation", "Yes!", "Yes."),
    # French.
    ("fr_partial", "Le chat dort sur le tapis.", "Le chat est assis sur le tapis."),
    ("fr_question", "Où est la gare ?", "Où se trouve la gare ?"),
    ("fr_nfc_vs_nfd", NFC("Un café, s'il vous plaît."), NFD("Un café, s'il vous plaît.")),
    # Spanish.
    ("es_partial", "¿Dónde está la biblioteca?", "¿Dónde queda la biblioteca?"),
    ("es_word_swap", "Me gusta el café con leche.", "Me gusta el té con leche."),
    # Russian.
    ("ru_partial", "Я люблю читать книги.", "Я очень люблю читать книги."),
    ("ru_greeting", "Привет, мир!", "Здравствуй, мир!"),
    ("ru_case", "москва", "Москва"),
    # Arabic (with and without harakat, which are combining marks).
    ("ar_partial", "القطة تجلس على السجادة", "القط يجلس على السجادة"),
    ("ar_harakat", "كَتَبَ الوَلَدُ الدَّرْسَ", "كتب الولد الدرس"),
    ("ar_identical", "شكرا جزيلا", "شكرا جزيلا"),
    # Hindi (vowel signs and virama are combining marks: separate code points).
    ("hi_partial", "मैं स्कूल जा रहा हूँ।", "मैं विद्यालय जा रहा हूँ।"),
    ("hi_prefix", "नमस्ते", "नमस्ते दुनिया"),
    ("hi_missing_matra", "कितब", "किताब"),
    ("hi_nukta_composed_vs_decomposed", "\u0929", "\u0928\u093c"),
    # Astral-plane characters and grapheme clusters of several code points.
    ("emoji_skin_tone", "👍🏽 ok", "👍 ok"),
    ("emoji_zwj_family", "👨\u200d👩\u200d👧", "👨👩👧"),
]


def main():
    names = [name for name, _, _ in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    # Check that the cases test what their names say.
    assert NFC(CASES[names.index("fr_nfc_vs_nfd")][1]) == NFC(CASES[names.index("fr_nfc_vs_nfd")][2])
    assert CASES[names.index("fr_nfc_vs_nfd")][1] != CASES[names.index("fr_nfc_vs_nfd")][2]
    assert NFD("\u0929") == "\u0928\u093c", "U+0929 decomposes into na + nukta"
    assert "\u001f".isspace() and not "\u200b".isspace()

    metric = CHRF()
    assert (metric.char_order, metric.word_order, metric.beta) == (6, 0, 2)
    assert not metric.whitespace and not metric.eps_smoothing and not metric.lowercase

    cases = []
    for name, hypothesis, reference in CASES:
        score = metric.sentence_score(hypothesis, [reference]).score
        statistics = metric._extract_corpus_statistics([hypothesis], [[reference]])[0]
        assert len(statistics) == 18
        cases.append({
            "name": name,
            "hypothesis": hypothesis,
            "reference": reference,
            "chrf": score,
            "statistics": [int(x) for x in statistics],
        })
        print(f"{name:38s} {score:10.6f}")

    signature = str(metric.get_signature())
    fixture = {"sacrebleu": sacrebleu.__version__, "signature": signature, "cases": cases}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    # One case a line: small, readable (the scripts stay legible: ensure_ascii=False)
    # and still plain JSON.
    dump = lambda value: json.dumps(value, ensure_ascii=False)
    lines = ["{", f' "sacrebleu": {dump(fixture["sacrebleu"])},', f' "signature": {dump(signature)},', ' "cases": [']
    lines += [f"  {dump(case)}," for case in cases]
    lines[-1] = lines[-1].rstrip(",")
    lines += [" ]", "}"]
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(OUT, encoding="utf-8") as f:
        assert json.load(f) == fixture

    print(f"\n{len(cases)} cases -> {os.path.relpath(OUT, ROOT)}")
    print(f"sacrebleu {sacrebleu.__version__}, python {platform.python_version()}")
    print(f"signature {signature}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
