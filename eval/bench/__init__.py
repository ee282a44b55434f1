"""The benchmark behind ``whitepaper bench``: ours beside the tutorial pipeline, on this machine.

- ``run``: runs the sections, records the run (tree state included), writes the results;
- ``config``: the sections and what to measure (``BenchConfig``);
- ``context``: what the sections share (the run's fixtures, question sets, paired timing);
- ``sections/``: one module per section (ingest, quality, retrieval, extractive, local, cold,
  ui, server, scale), each returning its typed result;
- ``results`` and ``figures``: the typed results and their JSON form; ``legacy``: older files;
- ``targets``: the table of targets and the one function that checks them;
- ``render``: the one Markdown renderer (``results.md``);
- ``tutorial``: the baseline (LangChain's PyPDFLoader -> splitter -> langchain-chroma -> top-5);
- ``synthetic``: the synthetic corpus of the scale series;
- ``measure``: timers, peak RSS, child processes, a Chroma server, profiles, stage timing.
"""
