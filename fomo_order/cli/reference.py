"""The command-line reference (``docs/cli.md``), rendered from the live ``--help`` of every command.

Rendered from the Click objects Typer builds, not from a terminal, so the text does not depend on the
terminal's width or colours. ``tests/test_docs.py`` regenerates it and compares it with the committed
file, so the reference cannot drift from the flags. Regenerate with::

    python -m fomo_order.cli.reference docs/cli.md
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

import click

REGENERATE = "python -m fomo_order.cli.reference docs/cli.md"


def _root_command() -> click.Command:
    import typer.main

    import fomo_order.cli.runner  # noqa: F401  (registers every command on the app)
    from fomo_order.cli.app import app

    # Typer builds the Command of the copy of Click it bundles; this module drives it through Click's own API.
    return cast(click.Command, typer.main.get_command(app))


def _paragraphs(text: str | None) -> list[str]:
    """A help text as Markdown paragraphs (Click's ``\\b`` no-rewrap marker dropped)."""
    lines = [line.rstrip() for line in (text or "").replace("\b", "").strip().splitlines()]
    return ["\n".join(lines)] if lines else []


def _parameter_lines(command: click.Command, ctx: click.Context) -> list[str]:
    arguments, options = [], []
    for param in command.params:
        if param.param_type_name == "argument":
            name = param.metavar or (param.name or "").upper()
            required = "required" if param.required else "optional"
            more = ", repeatable" if param.nargs == -1 else ""
            help_text = " ".join((getattr(param, "help", None) or "").split())
            arguments.append(f"- `{name}` ({required}{more}): {help_text}".rstrip(": "))
        else:
            record = param.get_help_record(ctx)
            if record is None:
                continue
            flags, help_text = record
            options.append(f"- `{flags}`: {' '.join(help_text.split())}".rstrip(": "))
    lines: list[str] = []
    if arguments:
        lines += ["**Arguments**", "", *arguments, ""]
    if options:
        lines += ["**Options**", "", *options, ""]
    return lines


def _usage(command: click.Command, ctx: click.Context) -> str:
    """The usage line on one line (Click wraps it at the terminal's width)."""
    return " ".join(["Usage:", ctx.command_path, *command.collect_usage_pieces(ctx)])


def _command_section(name: str, command: click.Command, parent: click.Context) -> list[str]:
    ctx = click.Context(command, info_name=name, parent=parent)
    usage = _usage(command, ctx)
    lines = [f"## `fomo-order {name}`", "", "```", usage, "```", ""]
    for paragraph in _paragraphs(command.help):
        lines += [paragraph, ""]
    return lines + _parameter_lines(command, ctx)


def render_reference() -> str:
    """``docs/cli.md``: every command's usage, help text, arguments and options, as Markdown."""
    root = _root_command()
    root_ctx = click.Context(root, info_name="fomo-order")
    commands: dict[str, click.Command] = getattr(root, "commands", {})
    lines = [
        "# Command-line reference",
        "",
        f"<!-- Generated from `fomo-order --help`; do not edit by hand. Regenerate: {REGENERATE} -->",
        "",
        "Generated from each command's `--help` (regenerate with `" + REGENERATE + "`; `tests/test_docs.py`",
        "fails when this file and the live `--help` differ). `-h` is `--help` everywhere. The manual, with",
        "examples, is in the other pages of [docs/](README.md).",
        "",
        "```",
        _usage(root, root_ctx),
        "```",
        "",
        *[p + "\n" for p in _paragraphs(root.help)],
        *_parameter_lines(root, root_ctx),
        "**Commands**",
        "",
        *[f"- [`{name}`](#fomo-order-{name}): {command.get_short_help_str(limit=200)}"
          for name, command in commands.items()],
        "",
    ]
    for name, command in commands.items():
        lines += _command_section(name, command, root_ctx)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the reference to the file given (or print it)."""
    args = sys.argv[1:] if argv is None else argv
    text = render_reference()
    if args:
        Path(args[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
