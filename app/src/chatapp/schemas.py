"""The request body of POST /v1/chat/completions (OpenAI Chat Completions, text only).

Static rules live here; limits that come from settings (max messages, content length, allowed
models and prompt versions) are checked in api.py so they follow the environment.
Unknown top-level fields are ignored, as OpenAI-compatible servers do for fields they don't use.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text"]
    text: StrictStr


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant"]
    content: StrictStr | list[TextPart]
    name: StrictStr | None = Field(default=None, max_length=64)

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: StrictBool = False


Temperature = Annotated[float, Field(ge=0, le=2)]
TopP = Annotated[float, Field(ge=0, le=1)]


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: StrictStr = Field(min_length=1, max_length=128, description="A model from GET /v1/models, or 'default'.")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: StrictStr | list[StrictStr] | None = None
    n: int | None = Field(default=None, ge=1, le=1, description="Only 1 is supported.")
    user: StrictStr | None = Field(default=None, min_length=1, max_length=128)
    conversation_id: StrictStr | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Continue a stored conversation (or send the X-Conversation-Id header).",
    )
    prompt_version: StrictStr | None = Field(
        default=None, max_length=64, description="One of the allowed prompt versions (or X-Prompt-Version)."
    )

    def stop_list(self) -> list[str] | None:
        if self.stop is None:
            return None
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)
