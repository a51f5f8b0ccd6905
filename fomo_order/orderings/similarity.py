"""The concept-similarity ordering: the best greedy nearest-neighbour path over all start concepts,
with weight(i, j) = 1 - cos(e_i, e_j) between caption embeddings (the search is in ``fomo_order.similarity``).
"""

from __future__ import annotations

import numpy as np

from fomo_order.catalog import Catalog
from fomo_order.orderings.registry import OrderResult, register
from fomo_order.progress import SILENT, Reporter


@register(
    "similarity",
    "best greedy nearest-neighbour path over all start concepts (caption embeddings)",
    requires=("embeddings",),
    options=("device", "start", "start_rank", "refine", "starts", "ray_address", "reporter"),
)
def similarity_order(
    catalog: Catalog,
    rng: np.random.Generator,
    embeddings: np.ndarray,
    device: str = "auto",
    start: int | None = None,
    start_rank: int = 1,
    refine: str = "none",
    starts: int | None = None,
    ray_address: str | None = None,
    reporter: Reporter = SILENT,
) -> OrderResult:
    # The exact search is deterministic; the generator only picks the sampled starts (starts=K).
    from fomo_order.similarity import similarity_path

    result = similarity_path(embeddings, start=start, start_rank=start_rank, device=device, refine=refine,
                             starts=starts, seed=rng, ray_address=ray_address, reporter=reporter)
    concept_ids = catalog.concept_ids
    details = {
        "start": concept_ids[result.start],
        "start_rank": result.start_rank,
        "path_weight": result.cost,
        "greedy_path_weight": result.greedy_cost,
        "refine": str(refine),
    }
    if result.mst_weight is not None:
        details["mst_lower_bound"] = result.mst_weight
    details.update(result.details)
    return OrderResult(order=result.path, details=details)
