"""Orderings: each is a plain function of the catalog, its inputs and a ``numpy.random.Generator``,
registered by name. A new ordering is one function and one ``@register`` line.

>>> from fomo_order.orderings import make_order
>>> result = make_order("random", catalog, seed=0)          # doctest: +SKIP
"""

from __future__ import annotations

from fomo_order.orderings.registry import ORDERINGS, OrderResult, make_order, register

# Importing the modules registers their orderings, in the order the paper lists them.
from fomo_order.orderings import basic  # noqa: F401  isort: skip
from fomo_order.orderings import similarity  # noqa: F401  isort: skip

__all__ = ["ORDERINGS", "OrderResult", "make_order", "register"]
