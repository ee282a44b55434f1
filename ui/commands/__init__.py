"""The ``whitepaper`` commands, one module per group: :mod:`.index` (ingest and index upkeep),
:mod:`.ask` (ask, chat), :mod:`.eval` (eval, validate-set, verify, eval-checker), :mod:`.bench`
and :mod:`.web` (ui, feedback). :mod:`ui.cli` puts them under one click group."""
