"""The request body of POST /v1/chat/completions (OpenAI Chat Completions, text only).

Static rules live here; limits that come from settings (max messages, content length, allowed
models and prompt versions) are checked in chat.py so they follow the environment.
Unknown top-level fields are ignored, as OpenAI-compatible servers do for fields they don't use;
the OpenAI features this server does not implement (tools, structured output, log probabilities)
are declared so that a request using them is refused with a 400 naming the field instead of
being answered as if they had been honoured.

Text is checked before anything is sent upstream or stored: JSON lets a client send a lone UTF-16
surrogate ("\\ud800"), which no UTF-8 encoder (the upstream request, Firestore, the log line)
can encode, and C0 control characters other than tab, newline and carriage return, which no model
or store needs. Either is a 400 with `param` naming the field, never a 5xx, and never a failure
charged to an upstream's circuit breaker.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

_BAD_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def check_text(value: str) -> str:
    """The string itself, or ValueError naming the first character no store or upstream takes."""
    bad = _BAD_TEXT.search(value)
    if bad is None:
        return value
    char = bad.group()
    where = f"at index {bad.start()}"
    if "\ud800" <= char <= "\udfff":
        raise ValueError(f"contains a lone surrogate U+{ord(char):04X} {where}: send valid Unicode text")
    raise ValueError(
        f"contains the control character U+{ord(char):04X} {where}: only tab, newline and carriage return are allowed"
    )


Text = Annotated[StrictStr, AfterValidator(check_text)]


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text"]
    text: Text


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant"]
    content: Text | list[TextPart]
    name: Annotated[Text, Field(max_length=64)] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: StrictBool = False


# strict: a JSON number (an integer too), not true or "0.5", as the documented type says
Temperature = Annotated[float, Field(ge=0, le=2, allow_inf_nan=False, strict=True)]
TopP = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False, strict=True)]
NOT_SUPPORTED = "Not supported by this server: a request that uses it is refused with 400 naming the field."


class ChatRequest(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [
            {"model": "default", "messages": [{"role": "user", "content": "Hello!"}]},
            {"model": "default", "messages": [{"role": "user", "content": "And then?"}], "stream": True,
             "stream_options": {"include_usage": True}},
        ]},
    )
    model: Annotated[Text, Field(min_length=1, max_length=128)] = Field(
        description="A model from GET /v1/models, or 'default'."
    )
    messages: list[ChatMessage] = Field(min_length=1)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    max_tokens: StrictInt | None = Field(default=None, ge=1)
    max_completion_tokens: StrictInt | None = Field(default=None, ge=1)
    stop: Text | list[Text] | None = None
    n: StrictInt | None = Field(default=None, ge=1, le=1, description="Only 1 is supported.")
    user: Annotated[Text, Field(min_length=1, max_length=128)] | None = None
    conversation_id: StrictStr | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Continue a stored conversation (or send the X-Conversation-Id header).",
    )
    prompt_version: Annotated[Text, Field(max_length=64)] | None = Field(
        default=None, description="One of the allowed prompt versions (or X-Prompt-Version)."
    )
    # OpenAI features that are not implemented: accepted only in their no-op form (absent, null,
    # empty, false, "none", {"type": "text"}); anything else is a 400 (chat.check_unsupported)
    tools: list[Any] | None = Field(default=None, description=NOT_SUPPORTED + " An empty list is accepted.")
    tool_choice: Any = Field(default=None, description=NOT_SUPPORTED + " 'none' is accepted.")
    parallel_tool_calls: Any = Field(default=None, description=NOT_SUPPORTED + " Accepted without tools.")
    functions: list[Any] | None = Field(default=None, description=NOT_SUPPORTED + " An empty list is accepted.")
    function_call: Any = Field(default=None, description=NOT_SUPPORTED + " 'none' is accepted.")
    response_format: Any = Field(default=None, description=NOT_SUPPORTED + " {'type': 'text'} is accepted.")
    logprobs: Any = Field(default=None, description=NOT_SUPPORTED + " false is accepted.")
    top_logprobs: Any = Field(default=None, description=NOT_SUPPORTED + " 0 is accepted.")

    def stop_list(self) -> list[str] | None:
        if self.stop is None:
            return None
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    def unsupported(self) -> tuple[str, str] | None:
        """(field, why) for the first OpenAI feature this request asks for that is not served."""
        if self.tools:
            return "tools", "tool calling is not supported by this server; send the request without tools"
        if self.functions:
            return "functions", "function calling is not supported by this server; send the request without functions"
        if self.tool_choice not in (None, "none"):
            return "tool_choice", "tool_choice is not supported by this server (only 'none')"
        if self.function_call not in (None, "none"):
            return "function_call", "function_call is not supported by this server (only 'none')"
        if self.parallel_tool_calls not in (None, False, True):
            return "parallel_tool_calls", "parallel_tool_calls must be a boolean (and tools are not supported)"
        if self.response_format is not None and self.response_format != {"type": "text"}:
            return (
                "response_format",
                "response_format is not supported by this server: only {'type': 'text'} (plain text answers)",
            )
        if self.logprobs not in (None, False):
            return "logprobs", "logprobs are not supported by this server (only false)"
        if self.top_logprobs not in (None, 0) or isinstance(self.top_logprobs, bool):
            return "top_logprobs", "top_logprobs are not supported by this server (only 0)"
        return None
