"""Entry point the Pulumi CLI runs (`python -m pulumi.policy <engine> policies`).

`PolicyPack(...)` serves gRPC until the engine stops it, so this file only builds it; the rules
live in the importable `stagewise_policies` package next to it.
"""

from pulumi_policy import PolicyPack

from stagewise_policies import PACK_DESCRIPTION, PACK_ENFORCEMENT, PACK_NAME, all_policies

PolicyPack(
    name=PACK_NAME,
    policies=all_policies(),
    enforcement_level=PACK_ENFORCEMENT,
    description=PACK_DESCRIPTION,
)
