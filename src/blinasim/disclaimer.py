"""The statement every outcome-predicting output carries."""

DISCLAIMER = (
    "blinasim is a research model, not medical advice: its predictions are simulations "
    "and must not guide the care of any child."
)
