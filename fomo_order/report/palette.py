"""The dataset colours of the report: a qualitative palette that keeps 41 datasets apart.

The palette was built once by a greedy max-min search over the sRGB cube in CIELAB (lightness 30-85,
so that every colour stands out on white and none is black), improved by moving each colour to the grid
point farthest from the others, and ordered so that every prefix is itself spread out (a catalog of 10
datasets gets the 10 most distinct). Its 41 first colours (the size of the FoMo-in-Flux catalog) are at
least :data:`MIN_DELTA_E_41` apart in CIELAB delta E 1976 (the tab20 palettes it replaced: 4.6);
``tests/test_report.py`` keeps it so.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PALETTE: tuple[str, ...] = (
    "#0000ff", "#6bef00", "#ff0000", "#00d6ff", "#94006b", "#5a4a08", "#ffce00", "#d6a5b5",
    "#00efb5", "#2142a5", "#ff29e6", "#c5de7b", "#940010", "#006b9c", "#ff005a", "#ff8c00",
    "#b57bff", "#199c00", "#ffc584", "#4a4a4a", "#ff009c", "#ef6b94", "#0052f7", "#b5d600",
    "#008c8c", "#73089c", "#0094ff", "#ff6b4a", "#ffadff", "#195229", "#8c639c", "#949473",
    "#7b3142", "#ad31ff", "#adc5ff", "#6b8400", "#94dec5", "#b56b4a", "#00ef73", "#ad7b00",
    "#52a563", "#de5ac5", "#7b8c9c", "#ad004a", "#006300", "#ad4a00", "#94e65a", "#c5b531",
    "#ff9c94", "#a594ef", "#d6d6a5", "#946b6b", "#19b5ff", "#4a73f7", "#5210c5", "#9ccede",
    "#d60021", "#00e6e6", "#f79452", "#844aad", "#8ce694", "#9c8c42", "#bd42de", "#ffb542",
)  # fmt: skip
MIN_DELTA_E_41 = 32.9  # measured: 32.92 (CIELAB delta E 1976, D65; CIEDE2000: 9.42) for the closest two of the first 41


def hex_to_rgb(colour: str) -> tuple[float, float, float]:
    value = colour.lstrip("#")
    return (int(value[0:2], 16) / 255, int(value[2:4], 16) / 255, int(value[4:6], 16) / 255)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] (last axis) to CIELAB (D65 white)."""
    rgb = np.asarray(rgb, dtype=np.float64)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    to_xyz = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                       [0.0193339, 0.1191920, 0.9503041]])  # fmt: skip
    xyz = linear @ to_xyz.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def min_delta_e(colours: Sequence[tuple[float, ...]]) -> float:
    """The smallest CIELAB delta E 1976 between any two of ``colours`` (RGB(A) in [0, 1])."""
    lab = srgb_to_lab(np.array([c[:3] for c in colours]))
    distances = np.linalg.norm(lab[:, None] - lab[None], axis=-1)
    distances[np.eye(len(lab), dtype=bool)] = np.inf
    return float(distances.min())


def dataset_colours(datasets: Sequence[str]) -> dict[str, tuple[float, float, float, float]]:
    """A stable colour per dataset: datasets sorted by name take the palette in its order.

    Beyond the palette's 64 colours the colours repeat (a figure of so many datasets is unreadable anyway).
    """
    names = sorted(set(datasets))
    return {name: (*hex_to_rgb(PALETTE[i % len(PALETTE)]), 1.0) for i, name in enumerate(names)}
