"""Per-partner source ranges in the staging stack (issue 23): where `allowedCidrs` is enforced.

Enforced in the partner service's app, on the client address Cloud Run's front end reports (the
last X-Forwarded-For entry, which a client cannot write: app/src/chatapp/source_ranges.py). Why not
Cloud Armor on a load balancer in front: Armor matches addresses, not keys, so one policy can only
admit the union of every partner's ranges, and partner A's leaked key would still work from
partner B's network; per-partner enforcement needs the key -> partner mapping only the app has.
The app check is also free, where a load balancer plus a policy costs a fixed monthly sum
(docs/stages.md, `stagewise cost staging`).

What the stack declares for each partner with ranges:
- `CHAT_ALLOWED_CIDRS_<PARTNER>` on the partner service, beside the key's `CHAT_API_KEY_<PARTNER>`;
- the same ranges as an annotation on the partner's key secret, so the intent is on record next to
  the key, and the policy pack (`partner-source-ranges-enforced`) can check something applies it;
- one log-based metric counting refusals by partner.
"""

from __future__ import annotations

import pulumi

from stagewise.components.chat_service import ChatService
from stagewise.components.source_refusals import SourceRefusalMetric, SourceRefusalMetricArgs
from stagewise.stacks.config import StackConfig
from stagewise.stacks.config.partners import PartnerServiceConfig

# Annotation keys: 1-63 characters, alphanumeric at both ends, dashes/underscores/dots inside; all
# annotations of a secret under 16 KiB (64 ranges of at most 43 characters fit):
# https://cloud.google.com/java/docs/reference/google-cloud-secretmanager/latest/com.google.cloud.secretmanager.v1beta2.SecretOrBuilder
ANNOTATION = "stagewise-allowed-cidrs"
TRUSTED_HOPS = "CHAT_TRUSTED_PROXY_HOPS"


def joined(ranges: list[str]) -> str:
    return ",".join(ranges)


def service_env(partners: PartnerServiceConfig) -> dict[str, pulumi.Input[str]]:
    """The partner service's range variables, one per partner with ranges, and the trusted hop count.

    CHAT_TRUSTED_PROXY_HOPS=1 is the app's own default on Cloud Run; it is stated here because the
    check stands on it: 1 reads the entry the front end appends, a larger count would read entries a
    client can write (the policy pack refuses any other value where ranges apply).
    """
    env: dict[str, pulumi.Input[str]] = {
        partners.ranges_env_of(key): joined(ranges) for key, ranges in partners.source_ranges.items()
    }
    if env:
        env[TRUSTED_HOPS] = "1"
    return env


def secret_annotations(partners: PartnerServiceConfig) -> dict[str, dict[str, str]]:
    """Secret id -> {ANNOTATION: ranges}, for each partner key secret that is range-limited."""
    return {
        partners.secret_of(key, partners.partners[key]): {ANNOTATION: joined(ranges)}
        for key, ranges in partners.source_ranges.items()
    }


def refusal_metric(config: StackConfig, partners: PartnerServiceConfig, service: ChatService) -> SourceRefusalMetric | None:
    if not partners.source_ranges:
        return None
    return SourceRefusalMetric("partner-source-refusals", SourceRefusalMetricArgs(project=config.gcp.project, service_name=service.service_name))


def enforcement(partners: PartnerServiceConfig, metric: SourceRefusalMetric | None) -> dict[str, object]:
    """The `partner_source_ranges` stack output: each limited partner, its ranges and what enforces them."""
    return {
        key: {
            "allowedCidrs": ranges,
            "enforcedBy": f"app check on Cloud Run service {partners.name} ({partners.ranges_env_of(key)}; "
                          "client address = the X-Forwarded-For entry Cloud Run's front end appends)",
            "refusalMetric": metric.metric_type if metric is not None else None,
        }
        for key, ranges in partners.source_ranges.items()
    }
