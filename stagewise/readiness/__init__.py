"""Deploy readiness: what Google Cloud, the provider or the engine would refuse, found offline.

Separate from the policy pack: a policy is an opinion the team holds; an acceptance rule is what
the API refuses (or what cannot work once deployed), each with its source. Three phases:

- ``rules``: the cloud-acceptance catalogue, read against the resources a deploy would send;
- ``lifecycle``: a first deploy into an empty project (what exists when each resource is created)
  and a second deploy after a new image and a changed config, diffed as the engine diffs;
- ``preview``: the program as `pulumi preview` runs it before a first deploy (computed values
  unknown), with the policy pack evaluated on that.
"""

from stagewise.readiness.model import BLOCKS, BROKEN, RISK, Finding, Problem, Severity

__all__ = ["BLOCKS", "BROKEN", "RISK", "Finding", "Problem", "Severity"]
