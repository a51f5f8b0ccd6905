"""The Typer application, the console and the helpers every command module shares.

Command modules import from here and register their command on :data:`app`; :mod:`fomo_order.cli.runner`
imports them all. Nothing here imports a command module, so there is no import circle.
"""

from __future__ import annotations

import re
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from fomo_order import __version__
from fomo_order.errors import FomoOrderError, ParameterError
from fomo_order.fileio import shorten

app = typer.Typer(
    name="fomo-order",
    help="Make FoMo-in-Flux concept streams: order the concepts of many datasets and cut them into tasks.",
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
console = Console(stderr=True, highlight=False, soft_wrap=True)


# Distributions `--version` reports beside fomo-order's own: always installed, then optional (only if present).
CORE_DEPENDENCIES = ("numpy", "typer", "rich")
OPTIONAL_DEPENDENCIES = ("torch", "numba")


def version_lines() -> list[str]:
    """fomo-order's version and its key dependencies', read from the installed metadata (nothing imported)."""
    from importlib.metadata import PackageNotFoundError, version

    lines = [f"fomo-order {__version__}"]
    for name in (*CORE_DEPENDENCIES, *OPTIONAL_DEPENDENCIES):
        try:
            lines.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            if name in CORE_DEPENDENCIES:
                lines.append(f"{name} (not installed)")
    return lines


def _version(value: bool) -> None:
    if value:
        print("\n".join(version_lines()))
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True,
        help="Print the version, and those of numpy, typer, rich (and torch, numba where installed).",
    ),
) -> None:
    """Make FoMo-in-Flux concept streams: order the concepts of many datasets and cut them into tasks."""


# Library parameters whose flag is not ``--`` and the name with dashes.
FLAG_OF_PARAMETER = {"out": "--output"}


def flag_for(parameter: str) -> str:
    """The command-line flag of a library parameter (``start_rank`` -> ``--start-rank``)."""
    return FLAG_OF_PARAMETER.get(parameter, "--" + parameter.replace("_", "-"))


def fail(error: FomoOrderError) -> None:
    """Print one line (no traceback) and exit with the error's code; library parameters become flags."""
    if isinstance(error, ParameterError):
        message = f"{flag_for(error.parameter)}: {error.worded(flag_for)}"
    else:
        message = str(error)
    console.print(Text.assemble(("error: ", "bold red"), printable_line(message)), soft_wrap=True)
    raise SystemExit(error.exit_code)


# Characters that would break the one error line or the terminal (C0/C1 controls, line separators).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
ERROR_LINE_LIMIT = 500


def printable_line(message: str, limit: int = ERROR_LINE_LIMIT) -> str:
    """``message`` as one printable line of at most ``limit`` characters: controls and lone surrogates (a file
    name that is not UTF-8) escaped, the middle of an overlong message elided."""
    text = message.encode("utf-8", "backslashreplace").decode("utf-8")
    text = _UNPRINTABLE.sub(lambda match: repr(match.group())[1:-1], text)
    return shorten(text, limit)


def command_line(ctx: typer.Context, leave_out: tuple[str, ...] = ("check",)) -> list[str]:
    """The invoked command as canonical arguments (given values only, long flags, fixed order).

    Recorded in meta files so that an artifact says how to make it again, and so that a check
    (CI, the test of the committed demo streams) can re-run exactly that command with ``--check``.
    """
    args = [ctx.info_name or ""]
    for param in ctx.command.params:
        if param.name in leave_out or param.name is None:
            continue
        value = ctx.params.get(param.name)
        is_argument = param.param_type_name == "argument"
        if value is None or (not is_argument and value == param.default):
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        values = [_recorded(getattr(v, "value", v)) for v in values]
        if is_argument:
            args.extend(str(v) for v in values)
        elif getattr(param, "is_flag", False):
            args.append(max(param.opts, key=len))
        else:
            for v in values:
                args.extend([max(param.opts, key=len), str(v)])
    return args


def _recorded(value: object) -> object:
    """A path as the meta records it: relative to the working directory when inside it (so a meta names no
    home directory and stays valid in another checkout), as given otherwise."""
    if isinstance(value, (str, Path)) and str(value) and Path(value).is_absolute() and Path(value).exists():
        try:
            return Path(value).resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            return value
    return value
