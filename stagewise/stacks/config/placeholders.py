"""Placeholders: values a user must replace before a real deploy, and the check that refuses them.

Convention (one for every stack file): a value the user must replace contains the word
``REPLACE-ME`` — alone (``gcp:project: REPLACE-ME``) or inside a value to show its shape
(``group:chat-developers@REPLACE-ME``, ``…/vllm-openai@sha256:REPLACE-ME``). YAML keeps it as a
plain string and no validator ever sees it: the loader looks for the word in every string value,
in any stage, before the config is validated or a single resource is declared, and answers with
one error listing every marked key and what to put there.

The mvp stack file ships working sample values instead of placeholders, so `stagewise review mvp`
runs as is (its `gcp:project` still has to become yours before `pulumi up`). The staging and prod
stack files mark what only the user can know (project id, principals, domains, emails, billing
account, image digests); `examples/values/<stack>.yaml` holds real-looking values for them, in the
same `config:` form, for an offline review (`stagewise review staging --values
examples/values/staging.yaml`).

Why placeholders must not reach GCP: IAM refuses a binding to a principal that does not exist
(``Error 400: Group … does not exist``,
https://github.com/GoogleCloudPlatform/cloud-foundation-fabric/issues/1549), and an `@example.com`
group is exactly that.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

MARKER = "REPLACE-ME"

_PRINCIPAL = (
    "an IAM principal that exists — group:<name>@<your-domain>, user:<email> or "
    "serviceAccount:<name>@<project>.iam.gserviceaccount.com (IAM refuses bindings to principals that do not exist)"
)
_IMAGE = (
    "an image by digest in a registry the project can pull from, "
    "REGION-docker.pkg.dev/PROJECT/REPO/NAME@sha256:<64 hex> "
    "(`gcloud artifacts docker images describe REGION-docker.pkg.dev/PROJECT/REPO/NAME:TAG --format='value(image_summary.digest)'`)"
)

# What to put at a key, by the key's dotted path without list indices (first match wins).
HINTS: tuple[tuple[str, str], ...] = (
    (r"^gcp:project$", "your Google Cloud project id (6-30 lowercase letters, digits and dashes), "
                       "e.g. acme-chat-staging: `pulumi config set gcp:project <id>`"),
    (r"^stagewise:personas\.partners$", "each partner's own principal — "
                                         "serviceAccount:<client>@<their-project>.iam.gserviceaccount.com "
                                         "or group:<integrators>@<their-domain> (IAM refuses principals that do not exist)"),
    (r"^stagewise:personas\.\w+$", _PRINCIPAL),
    (r"\.invokers$", _PRINCIPAL),
    (r"\.billingAccount$", "your billing account id, three groups of six like 01A2B3-C4D5E6-F7A8B9 (`gcloud billing accounts list`)"),
    (r"^stagewise:edge\.domains$", "a domain you control; after `pulumi up`, point its DNS A record at the "
                                   "load_balancer_ip output so the managed certificate can be issued"),
    (r"^stagewise:alerting\.emails$", "an address that should receive the alerts"),
    (r"(serverImage|image\.ref)$", _IMAGE),
    (r"release\.previousRevision", "the revision that serves release.previous, from the `revisions` output of "
                                   "the deploy that rolled it out (`pulumi stack output revisions`)"),
)


@dataclass(frozen=True)
class Placeholder:
    """One marked value: where it is (as the user writes the key) and what belongs there."""

    key: str
    value: str
    hint: str

    def problem(self) -> str:
        return f"{self.key}: {self.value!r} is a placeholder; replace it with {self.hint}"


def find_placeholders(config: Mapping[str, Any]) -> list[Placeholder]:
    """Every string value holding the marker, in ``config`` (fully-qualified keys, parsed values)."""
    found: list[Placeholder] = []
    for key in sorted(config):
        for path, parts, value in _strings(key, [], config[key]):
            if MARKER in value:
                found.append(Placeholder(path, value, hint_for(key, parts)))
    return found


def report(stack: str, placeholders: list[Placeholder]) -> list[str]:
    """The lines of the one error that lists them (each a `key: message`, as the loader reports)."""
    lines = [p.problem() for p in placeholders]
    lines.append(
        f"the values marked {MARKER} are only known to you; replace each in Pulumi.{stack}.yaml "
        f"(or `pulumi config set --path 'KEY' VALUE --stack {stack}`, with KEY as listed). To review offline first, "
        f"`stagewise review {stack} --values examples/values/{stack}.yaml` lays real-looking values over them. "
        "(The mvp stack file ships working sample values instead, so it reviews as is.)"
    )
    return lines


def hint_for(key: str, parts: list[str]) -> str:
    dotted = ".".join([key, *parts]) if parts else key
    for pattern, hint in HINTS:
        if re.search(pattern, dotted):
            return hint
    description = _description(key, parts)
    return f"a real value ({description})" if description else "a real value"


def _strings(path: str, parts: list[str], value: Any) -> Iterator[tuple[str, list[str], str]]:
    if isinstance(value, str):
        yield path, parts, value
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from _strings(f"{path}.{name}", [*parts, str(name)], item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(f"{path}[{index}]", parts, item)


def _description(key: str, parts: list[str]) -> str | None:
    """The field's own description in the config model, found by walking the camelCase path."""
    from stagewise.stacks.config.model import StackConfig  # the model imports components; load it only when needed

    namespace, _, name = key.partition(":")
    path = [name, *parts] if namespace == "stagewise" else (["gcp", name] if namespace == "gcp" else [])
    models: list[type[BaseModel]] = [StackConfig]
    description: str | None = None
    for part in path:
        fields = [field for model in models for field in _fields(model, part)]
        if not fields:
            continue  # a free-form key (a bucket, a partner, a region): the value type stays the same
        description = fields[0].description or description
        models = [m for field in fields for m in _models_in(field.annotation)]
    return description


def _fields(model: type[BaseModel], key: str) -> list[Any]:
    return [field for name, field in model.model_fields.items() if key in (name, field.alias)]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]
