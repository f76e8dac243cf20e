"""The AALL1731 in-silico replication: ``blinasim run aall1731`` and its report."""
