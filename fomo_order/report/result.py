"""The report as an artifact: the figure, optionally the summary JSON, and ``REPORT.meta.json``."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fomo_order.artifacts.result import STDOUT, Written, write_artifact
from fomo_order.errors import InputError, ParameterError
from fomo_order.report.figure import DEFAULT_DPI, FORMATS, draw_figure, render_bytes
from fomo_order.report.signals import Comparison


def report_meta_path(path: str | Path) -> Path:
    """``REPORT.png`` -> ``REPORT.meta.json`` (beside it)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.meta.json")


def format_of(path: str | Path | None, format: str | None = None) -> str:
    """The figure format: ``format`` if given, else the output's extension (``-`` or none: PNG)."""
    suffix = "" if path is None or str(path) == STDOUT else Path(path).suffix.lower().removeprefix(".")
    if format is not None:
        if format not in FORMATS:
            raise ParameterError("format", f"unknown figure format {format!r} (choose one of {', '.join(FORMATS)})")
        if suffix and suffix != format:
            raise InputError(path, f"has the extension .{suffix} but the format asked for is {format}")
        return format
    if not suffix:
        if path is None or str(path) == STDOUT:
            return "png"
        raise InputError(path, f"has no extension to take the figure format from (.{', .'.join(FORMATS)})")
    if suffix not in FORMATS:
        raise InputError(path, f"unknown figure extension .{suffix} (use .{', .'.join(FORMATS)})")
    return suffix


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


@dataclass
class Report(Written):
    """The comparison figure (``figure_bytes`` in ``format``), the summary per stream and the meta.

    ``report.write(path)`` writes the figure at ``path``, the summary JSON at ``summary_json`` (when
    given) and the meta at ``REPORT.meta.json``; ``-`` writes the figure to standard output (and the
    summary to its file). ``figure`` is the matplotlib Figure, for a notebook or a closer look.
    """

    figure_bytes: bytes
    format: str
    summary: dict[str, dict[str, Any]]
    meta: dict[str, Any]
    summary_json: Path | None = None
    figure: Any = None
    inputs: tuple[Path, ...] = ()

    def __repr__(self) -> str:
        return f"Report({self.format}, {len(self.figure_bytes)} bytes, {len(self.summary)} streams)"

    def _repr_png_(self) -> bytes | None:
        return self.figure_bytes if self.format == "png" else None

    def files(self, path: Path) -> dict[Path, bytes]:
        from fomo_order.fileio import dumps_json

        path = Path(path)
        if str(path) == STDOUT:
            return {path: self.figure_bytes}
        format_of(path, self.format)
        files = [(path, self.figure_bytes)]
        if self.summary_json is not None:
            files.append((self.summary_json, dumps_json(self.summary).encode("utf-8")))
        files.append((report_meta_path(path), dumps_json(self.meta).encode("utf-8")))
        self._refuse_clashes([name for name, _ in files])  # before the dict, where equal paths would merge
        return dict(files)

    def _refuse_clashes(self, outputs: list[Path]) -> None:
        """No output may be another output or an input: it would be written over."""
        for i, output in enumerate(outputs):
            for other in outputs[:i]:
                if _same_file(output, other):
                    raise InputError(output, f"is the same file as the output {other}; give each output its own path")
            for source in self.inputs:
                if _same_file(output, source):
                    raise InputError(output, "is one of the report's inputs; it would be written over")

    def write(self, path: str | Path, *, check: bool = False) -> None:
        if str(path) != STDOUT:
            write_artifact(self, path, check=check)
            return
        if sys.stdout.isatty():
            raise InputError(STDOUT, f"is a terminal; redirect the {self.format.upper()} bytes or write to a file")
        if self.summary_json is not None and not check:  # (a check of standard output is refused below)
            from fomo_order.fileio import dumps_json, write_files_atomic

            self._refuse_clashes([self.summary_json])
            write_artifact(self, path)
            write_files_atomic({self.summary_json: dumps_json(self.summary).encode("utf-8")})
            return
        write_artifact(self, path, check=check)


def render_report(
    comparison: Comparison,
    *,
    out: str | Path | None = None,
    format: str | None = None,
    dpi: int = DEFAULT_DPI,
    summary_json: str | Path | None = None,
    argv: list[str] | None = None,
) -> Report:
    """Draw ``comparison`` (from :func:`fomo_order.compare_streams`) as a :class:`Report`.

    The format is ``format`` or the extension of ``out`` (``.png``, ``.pdf``, ``.svg``; PNG when neither
    says); ``dpi`` sets the PNG's resolution (and that of any raster part of a PDF or SVG).
    ``summary_json`` is where ``report.write`` also puts the summary table; ``argv`` goes into the meta.
    """
    from fomo_order.artifacts.meta import input_record, make_meta
    from fomo_order.fileio import sha256_bytes

    chosen = format_of(out, format)
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 10 <= dpi <= 2400:
        raise ParameterError("dpi", f"must be an integer from 10 to 2400, got {dpi!r}")
    figure = draw_figure(comparison.streams)
    figure_bytes = render_bytes(figure, chosen, dpi)
    inputs: dict[str, Any] = {}
    sources: list[Path] = []
    for name, value in comparison.input_files.items():
        paths = value if isinstance(value, list) else [value]
        sources.extend(paths)
        if name == "embeddings":  # its sidecar is read too
            sources.append(paths[0].with_suffix(".json"))
        records = [input_record(p) for p in paths]
        inputs[name] = records if isinstance(value, list) else records[0]
    summary = comparison.summary()
    meta = make_meta(
        "report", argv=argv, inputs=inputs,
        parameters={"tasks": comparison.tasks, "format": chosen, "dpi": dpi},
        figure_sha256=sha256_bytes(figure_bytes),
    )  # fmt: skip
    return Report(
        figure_bytes=figure_bytes, format=chosen, summary=summary, meta=meta,
        summary_json=None if summary_json is None else Path(summary_json), figure=figure, inputs=tuple(sources),
    )  # fmt: skip
