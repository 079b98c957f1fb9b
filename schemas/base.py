"""The base of every message model: frozen, and unknown fields are refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    # Frozen: messages are values. Unknown fields refused: a typo in a payload names its field
    # instead of being silently dropped.
    model_config = ConfigDict(frozen=True, extra="forbid")
