"""Gemini models: per-token prices and lifecycle, read from stagewise/pricing/vertex_ai.yaml.

`token_prices(model)` is the one place a model's input/output price per token is read (the cost
estimate uses the same rows): the app can ship these to price each request.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from stagewise.cost.prices import ModelInfo, NoPrice, PriceBook, default_price_book

FAMILY = "vertex_ai"


def model_key(model: str) -> str:
    """gemini-2.5-flash-001 / publishers/google/models/gemini-2.5-flash@x / gemini-3-flash-preview → table key."""
    name = str(model or "").rstrip("/").rsplit("/", 1)[-1].split("@", 1)[0]
    return re.sub(r"-(\d{3}|preview(-[\w-]+)?|latest)$", "", name)


@dataclass(frozen=True)
class TokenPrices:
    model: str
    input_usd_per_token: float
    output_usd_per_token: float
    verified: bool

    def request_usd(self, input_tokens: float, output_tokens: float) -> float:
        return input_tokens * self.input_usd_per_token + output_tokens * self.output_usd_per_token


def token_prices(model: str, book: PriceBook | None = None) -> TokenPrices:
    """The model's standard (not batch, not cached) USD price per input and per output token.

    Raises NoPrice when the table has no row for the model.
    """
    book = book or default_price_book()
    key = model_key(model)
    if not (book.has(FAMILY, f"tokens_in.{key}") and book.has(FAMILY, f"tokens_out.{key}")):
        raise NoPrice(f"{FAMILY}.tokens_in/tokens_out.{key} (stagewise/pricing/vertex_ai.yaml)")
    price_in, price_out = book.entry(FAMILY, f"tokens_in.{key}"), book.entry(FAMILY, f"tokens_out.{key}")
    return TokenPrices(key, price_in.at("global"), price_out.at("global"), price_in.verified and price_out.verified)


def model_info(model: str, book: PriceBook | None = None) -> ModelInfo | None:
    return (book or default_price_book()).file(FAMILY).models.get(model_key(model))


def lifecycle_note(model: str, today: dt.date | None = None, book: PriceBook | None = None) -> str | None:
    """A warning for a model that is deprecated or retired on Vertex AI (None when current)."""
    info = model_info(model, book)
    if info is None or info.vertex.status in ("ga", "preview"):
        return None
    when = info.vertex.retirement.isoformat() if info.vertex.retirement else "no date announced"
    api = info.gemini_api
    api_note = f"; on the Gemini API it is {api.status}" + (f" since {api.shutdown.isoformat()}" if api.shutdown and api.status == "retired" else "")
    replace = f"; move to {info.replacement}" if info.replacement else ""
    return f"{model_key(model)} is {info.vertex.status} on Vertex AI (retirement {when}{', ' + info.vertex.retirement_note if info.vertex.retirement_note else ''}){api_note}{replace}"
