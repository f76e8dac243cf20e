"""Health economics: costs, utilities, discounting and PSA summaries (``blinasim cea``).

A research model, not medical advice.
"""
