"""`stagewise:inference` — how the model is served. Modes beyond `managed` slot in here."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from stacks.config.base import Section
from stacks.config.regions import check_region


class ManagedInferenceConfig(Section):
    """A model called over Google's API (Vertex AI Gemini): nothing to run ourselves."""

    mode: Literal["managed"] = "managed"
    model: str = Field("gemini-2.5-flash", pattern=r"^[a-z0-9][-a-z0-9.@]*$", description="Gemini model id")
    location: str | None = Field(None, description="Vertex AI location; defaults to gcp:region")
    fallback_model: str | None = Field(
        None, pattern=r"^[a-z0-9][-a-z0-9.@]*$", description="model tried when the primary fails"
    )

    @field_validator("location")
    @classmethod
    def _location(cls, value: str | None) -> str | None:
        return value if value in (None, "global") else check_region(str(value))


InferenceConfig = ManagedInferenceConfig
