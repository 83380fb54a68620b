"""stagewise chat backend: an OpenAI-compatible chat API for Cloud Run."""

__version__ = "0.1.0"
