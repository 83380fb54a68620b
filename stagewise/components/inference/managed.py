"""Mode managed: a Google-hosted model (Gemini) called over the Vertex AI API; nothing is deployed."""

from __future__ import annotations

from stagewise.components.inference.backend import Backend, Site
from stagewise.components.inference.modes import ManagedModel


def declare(site: Site, name: str, mode: ManagedModel, served: str) -> Backend:
    """No server of ours: the caller reaches Gemini with its own identity (see InferenceEndpoint)."""
    return Backend()
