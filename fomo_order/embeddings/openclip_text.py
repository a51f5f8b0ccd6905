"""CLIP's text tower run at each caption's own length instead of the full 77-token context.

The tower is causal and pools at one position (the end-of-text token for ``argmax``/``eos``
pooling), so positions after it cannot change the pooled feature. This mirrors open_clip 3.x
``CLIP.encode_text`` / ``TextTransformer.forward`` step by step, with the positional embedding and the
causal mask cut to the batch's length: the result equals ``encode_text`` to float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

POOLS_AT_ONE_POSITION = ("argmax", "eos", "first")


@dataclass(frozen=True)
class CausalTextTower:
    """The modules ``encode_text`` uses, taken from a ``CLIP`` or a ``CustomTextCLIP``'s ``TextTransformer``."""

    token_embedding: nn.Embedding
    positional_embedding: torch.Tensor
    transformer: Any  # open_clip's Transformer or CustomTransformer: get_cast_dtype(), forward(x, attn_mask=)
    ln_final: nn.Module
    text_projection: Any  # nn.Linear, a (width, dim) parameter, or None
    attn_mask: torch.Tensor
    pool_type: str
    eos_id: int | None


def causal_text_tower(model: nn.Module) -> CausalTextTower | str:
    """The tower's modules when the truncated forward reproduces ``encode_text``, else why it cannot."""
    from open_clip.model import CLIP
    from open_clip.transformer import TextTransformer

    parts: Any  # a CLIP or a TextTransformer: open_clip has no type hints
    if isinstance(model, CLIP):
        parts, pool_type, eos_id = model, model.text_pool_type, getattr(model, "text_eos_id", None)
    elif isinstance(getattr(model, "text", None), TextTransformer):
        parts = model.text
        if parts.cls_emb is not None:
            return "its text tower appends a class token (CoCa style)"
        pool_type, eos_id = parts.pool_type, parts.eos_id
    else:
        return f"{type(model).__name__} has no open_clip TextTransformer text tower (e.g. a Hugging Face text model)"
    if getattr(parts, "attn_mask", None) is None:
        return "its text tower is bidirectional (no causal mask), so padding reaches the pooled token"
    if pool_type not in POOLS_AT_ONE_POSITION:
        return f"its text tower pools with {pool_type!r}, not at one token"
    return CausalTextTower(
        token_embedding=parts.token_embedding,
        positional_embedding=parts.positional_embedding,
        transformer=parts.transformer,
        ln_final=parts.ln_final,
        text_projection=parts.text_projection,
        attn_mask=parts.attn_mask,
        pool_type=pool_type,
        eos_id=eos_id,
    )


def pool_positions(tokens: torch.Tensor, pool_type: str, eos_id: int | None) -> torch.Tensor:
    """The position each row pools at, as open_clip's ``text_global_pool`` chooses it."""
    if pool_type == "argmax":
        return tokens.argmax(dim=-1)
    if pool_type == "eos":
        assert eos_id is not None  # open_clip gives every eos-pooling tower its eos id
        return (tokens == eos_id).int().argmax(dim=-1)
    if pool_type == "first":
        return torch.zeros(tokens.shape[0], dtype=torch.long, device=tokens.device)
    raise ValueError(f"pool type {pool_type!r} does not pool at one position")


def encode_truncated(tower: CausalTextTower, tokens: torch.Tensor, length: int) -> torch.Tensor:
    """Text features of ``tokens[:, :length]``; every row's pooling position must be below ``length``."""
    tokens = tokens[:, :length]
    cast_dtype = tower.transformer.get_cast_dtype()
    x = tower.token_embedding(tokens).to(cast_dtype)
    x = x + tower.positional_embedding[:length].to(cast_dtype)
    x = tower.transformer(x, attn_mask=tower.attn_mask[:length, :length])
    x = tower.ln_final(x)
    positions = pool_positions(tokens, tower.pool_type, tower.eos_id)
    x = x[torch.arange(x.shape[0], device=x.device), positions]
    if tower.text_projection is not None:
        x = tower.text_projection(x) if isinstance(tower.text_projection, nn.Linear) else x @ tower.text_projection
    return x
