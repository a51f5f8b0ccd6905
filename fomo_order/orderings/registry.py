"""The registry of orderings and the one entry point that runs them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fomo_order.catalog import Catalog


@dataclass(frozen=True)
class OrderResult:
    """A permutation of the catalog's concept indices, and what is worth recording about how it was made."""

    order: np.ndarray
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Ordering:
    name: str
    func: Callable[..., OrderResult | np.ndarray]
    summary: str
    # Keyword inputs the function requires (the CLI loads them from files, e.g. counts from --frequencies).
    requires: tuple[str, ...] = ()
    # Keyword options the function accepts besides the required inputs.
    options: tuple[str, ...] = ()


ORDERINGS: dict[str, Ordering] = {}


def register(
    name: str, summary: str, requires: tuple[str, ...] = (), options: tuple[str, ...] = ()
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``func(catalog, rng, **inputs)`` as the ordering ``name``."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        ORDERINGS[name] = Ordering(name=name, func=func, summary=summary, requires=requires, options=options)
        return func

    return decorate


def make_order(
    name: str,
    catalog: Catalog,
    seed: int | np.random.Generator = 0,
    reverse: bool = False,
    **inputs: Any,
) -> OrderResult:
    """Run the ordering ``name`` on ``catalog``; ``reverse`` gives the exact reversal of the same order.

    The seed becomes a Generator here, once; orderings draw from it in a fixed sequence, so the same
    seed gives the same order on any machine.
    """
    ordering = ORDERINGS[name]
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    result = ordering.func(catalog, rng, **inputs)
    if not isinstance(result, OrderResult):
        result = OrderResult(order=np.asarray(result, dtype=np.int64))
    order = np.asarray(result.order, dtype=np.int64)
    if reverse:
        order = order[::-1].copy()
    return OrderResult(order=order, details=result.details)
