"""ASGI entry point: `uvicorn chatapp.main:app`. Settings are read when the server starts."""

from .api import create_app

app = create_app()
