"""The local web app (``blinasim serve``): the decision aid and the scenario explorer.

A research model, not medical advice.
"""
