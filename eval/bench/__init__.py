"""The benchmark behind ``whitepaper bench``: ours beside the tutorial pipeline, on this machine.

- ``run``: the sections, the targets, ``results.json`` and ``results.md``;
- ``tutorial``: the baseline (pypdf pages -> RecursiveCharacterTextSplitter -> Chroma -> top-5);
- ``synthetic``: the synthetic corpus of the scale series;
- ``measure``: timers, percentiles, peak RSS, child processes, a Chroma server, profiles.
"""
