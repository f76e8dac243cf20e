"""Analysis of time-to-event trial data (real ADaM ADTTE files or simulated trials)."""
