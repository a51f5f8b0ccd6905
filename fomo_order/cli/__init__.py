"""The command-line interface: a thin Typer layer that parses, calls the library and prints.

:mod:`fomo_order.cli.app` holds the Typer app and the helpers that command modules share; each command
lives in a ``<command>_cmd`` module that registers itself on the app; :mod:`fomo_order.cli.main` imports
them all and runs the app. Heavy libraries (torch, open_clip, numba, matplotlib, elasticsearch) are
imported inside the commands that need them, so ``fomo-order --help`` stays instant.
"""
