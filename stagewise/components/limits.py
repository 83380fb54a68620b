"""GCP limits and names the stack config validates against.

No Pulumi import here: the config loads (and a bad value fails) before pulumi_gcp's large resource
modules are imported; the components import these same values.
"""

from __future__ import annotations

import re

# The chat service's health path: its liveness probe, and the uptime check's default.
HEALTH_PATH = "/health"

# Cloud Run direct VPC egress needs a subnet of at least this size (/26).
MAX_EGRESS_PREFIX = 26

# Cloud Armor accepts only these rate-limit intervals.
RATE_INTERVALS = (10, 30, 60, 120, 180, 240, 300, 600, 900, 1200, 1800, 2700, 3600)
# OWASP CRS families Cloud Armor ships as preconfigured WAF rules (https://cloud.google.com/armor/docs/waf-rules).
WAF_FAMILIES = frozenset(
    {
        "sqli", "xss", "lfi", "rfi", "rce", "methodenforcement", "scannerdetection", "protocolattack",
        "php", "sessionfixation", "java", "nodejs",
    }
)
_WAF_RULE = re.compile(r"^(?P<family>[a-z]+)-v(33|422)-(stable|canary)$")
DEFAULT_WAF_RULES = (
    "sqli-v33-stable", "xss-v33-stable", "lfi-v33-stable", "rfi-v33-stable", "rce-v33-stable",
    "methodenforcement-v33-stable", "scannerdetection-v33-stable", "protocolattack-v33-stable",
    "sessionfixation-v33-stable",
)


def is_waf_rule(name: str) -> bool:
    match = _WAF_RULE.match(name)
    return match is not None and match["family"] in WAF_FAMILIES

# The app's chat endpoint (app/src/chatapp/api.py, POST /v1/chat/completions): its bodies are what
# users type, code and SQL included, which the body-reading rules would answer with 403.
FREE_TEXT_PATHS = ("/v1/chat/completions",)
