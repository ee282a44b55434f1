"""The support checker: does a passage back a sentence, read as a careful reader would?

Answers, ``whitepaper verify`` and the eval all use this one checker. It decides in layers,
cheapest first, and says which layer decided:

1. **Exact checks** (well under a millisecond each). What the sentence asserts must be in the
   passage as written: numbers with their units and dates ("2022 年 5 月", "43.25 万美元",
   "10.8 个百分点"; English "May 2022", "432,500"), Latin names ("GAN", "Illiac Suite"),
   titles in 《》 and terms in “”, and Chinese proper names (jieba's nr/ns/nt/nz tags).
2. **Polarity and quantifiers.** A negation (不/未/没有/无/并非/尚未…, not/no/never) or an
   overclaim (唯一/首个/仅/所有/必然…, only/first/all/every) that the sentence asserts and its
   passage sentence does not, or a negation of the passage that the sentence drops.
3. **Alignment.** The sentence is cut into clauses; each clause must align to ONE passage
   sentence (its content covered by that sentence). A clause that only the whole passage
   covers mixes two sentences: merged examples and swapped roles fail here.
4. **A model, only for what the cheap layers cannot decide**: the local LLM's yes/no logits on
   the aligned passage sentences (not the whole passage). English sentences about a Chinese
   passage share no characters with it, so for them alignment is by e5 similarity and the model
   layer decides more often.

Every threshold is in :class:`CheckerConfig`, chosen on the calibration split of the labelled
pairs (``eval/sets/support-pairs-v1.jsonl``); eval/README.md reports the test split.

The layers live in their own modules: :mod:`.text` (normal forms, tokens, names), :mod:`.exact`
(numbers, names, quoted terms), :mod:`.polarity`, :mod:`.alignment` (clauses and passage
sentences), :mod:`.checker` (:class:`SupportChecker`, which composes them, and its model layer)
and :mod:`.pairs` (labelled pairs files).
"""

from assistant.support.alignment import clauses
from assistant.support.checker import CheckerConfig, JudgeCheck, SupportChecker, verdicts
from assistant.support.pairs import PairsError, read_pairs
from assistant.types import Verdict

__all__ = [
    "CheckerConfig",
    "JudgeCheck",
    "PairsError",
    "SupportChecker",
    "Verdict",
    "clauses",
    "read_pairs",
    "verdicts",
]
