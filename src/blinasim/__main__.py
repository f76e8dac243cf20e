"""``python -m blinasim`` runs the command line."""

from blinasim.cli import main

main()
