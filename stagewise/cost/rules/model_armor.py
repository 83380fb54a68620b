"""Model Armor screening priced per token (stagewise/pricing/model_armor.yaml).

The template itself costs nothing; the chat services that name it (CHAT_GUARDRAILS_TEMPLATE) screen
each request's new user message and the model's answer. In inspect-and-block mode a streamed answer
is screened again each CHAT_GUARDRAILS_STREAM_CHARS characters, the accumulated text each time
(app/src/chatapp/guardrails.py), so its tokens count once per screening.
"""

from __future__ import annotations

import math

from stagewise.cost.context import Context
from stagewise.cost.model import Charge, LineItem
from stagewise.cost.rules.registry import env_of, rule
from stagewise.cost.traffic import request_serving_services, service_requests
from stagewise.engine.props import lookup
from stagewise.engine.record import DeclaredResource


TEMPLATE = "gcp:modelarmor/template:Template"
CHARS_PER_TOKEN = 4.0  # a planning figure for English text, as the app's own token estimate uses


def streamed_screening_tokens(answer_tokens: float, stream_chars: float) -> float:
    """Tokens sent when an answer is screened at each `stream_chars` of accumulated text and once at its end."""
    chunk = max(stream_chars / CHARS_PER_TOKEN, 1.0)
    screenings = math.floor(answer_tokens / chunk)
    return chunk * screenings * (screenings + 1) / 2 + answer_tokens


@rule(TEMPLATE)
def model_armor_template(resource: DeclaredResource, ctx: Context) -> list[LineItem]:
    template_id = str(resource.inputs.get("templateId") or "")
    location = str(resource.inputs.get("location") or "")
    suffix = f"/locations/{location}/templates/{template_id}"
    serving = request_serving_services(ctx)
    usage = ctx.usage

    def build(charges: list[Charge], notes: list[str]) -> None:
        prompt_tokens = answer_tokens = 0.0
        screened = 0
        for service in serving:
            env = env_of(lookup(service.inputs, "template.containers[0]") or {})
            if not str(env.get("CHAT_GUARDRAILS_TEMPLATE", "")).endswith(suffix):
                continue
            screened += 1
            requests = service_requests(service, ctx)  # this service's share (requestsByService or an even part)
            blocking = env.get("CHAT_GUARDRAILS_ENFORCEMENT") == "inspect-and-block"
            per_answer = (streamed_screening_tokens(usage.output_tokens_per_request, float(env.get("CHAT_GUARDRAILS_STREAM_CHARS") or 400))
                          if blocking else usage.output_tokens_per_request)
            # input_tokens_per_request counts the history and system prompt the app never screens: an upper bound
            prompt_tokens += requests * usage.input_tokens_per_request
            answer_tokens += requests * per_answer
        notes.append(
            f"{screened} of {len(serving)} chat service(s) screen with this template; prompts ≤ input_tokens_per_request "
            f"({usage.input_tokens_per_request:g}, an upper bound: only new user messages are screened); answers "
            f"{usage.output_tokens_per_request:g} tokens, re-screened as they stream in block mode (all requests assumed streamed)"
        )
        charges.append(ctx.charge("model_armor", "tokens", "global", "prompt tokens screened", prompt_tokens, "usage"))
        charges.append(ctx.charge("model_armor", "tokens", "global", "answer tokens screened", answer_tokens, "usage"))

    return [ctx.line(resource, location or "global", build)]
