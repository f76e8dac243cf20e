"""Command groups of the ``blinasim`` command line (``blinasim trial|protocol|calibrate|params``).

Each module holds one typer app: it parses options, calls the library, prints. The root
command line (:mod:`blinasim.cli`) attaches them; nothing below imports this package.
"""
