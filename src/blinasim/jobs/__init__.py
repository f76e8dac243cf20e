"""Jobs: each takes a frozen config, does one user-level task and writes a results folder.

``run`` (the AALL1731 posterior-predictive replication: ``blinasim run``), ``scenarios``
(protocol variants on the same virtual children: ``blinasim compare``), with their
replicate checkpoints (``store``), per-replicate simulation (``simulate``), summaries
(``summary``) and terminal text (``text``).
"""
