"""The one result of both score steps: per-concept scores for the performance ordering and their meta."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fomo_order.artifacts.result import Written
from fomo_order.artifacts.scores import SCORE_DIGITS, scores_files


@dataclass(frozen=True)
class ScoreResult(Written):
    """What :func:`~fomo_order.scores.score` (zero-shot, on images) and
    :func:`~fomo_order.scores.proxy_scores` (text margin) return; ``result.write(path)`` writes the scores
    file and its ``.meta.json``, the bytes the CLI writes.

    ``digits``: decimals the file keeps (proxy scores: SCORE_DIGITS, as ``write_scores`` writes them;
    zero-shot scores: None, as computed). The fields after ``digits`` describe a zero-shot run (empty and 0
    for proxy scores).
    """

    scores: dict[str, float]  # concept id -> score, catalog order
    meta: dict[str, Any]  # the meta file's fields (no cache state, no timestamps)
    images: dict[str, int] | None = None  # zero-shot: concept id -> number of images scored (written too)
    digits: int | None = SCORE_DIGITS
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (image path under the root, reason)
    encoded: int = 0  # distinct images run through the model now
    cached: int = 0  # distinct images whose features came from the cache
    cache_directory: Path | None = None

    def files(self, path: Path) -> dict[Path, bytes]:
        return scores_files(path, self.scores, self.meta, images=self.images, digits=self.digits)
