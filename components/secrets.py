"""SecretSet: Secret Manager secrets whose values are added out of band (never in code or state)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp.secretmanager import (
    SecretReplicationArgs,
    SecretReplicationUserManagedArgs,
    SecretReplicationUserManagedReplicaArgs,
)


@dataclass
class SecretSetArgs:
    project: pulumi.Input[str]
    secret_ids: Sequence[str]
    replica_locations: Sequence[str]
    labels: Mapping[str, str] = field(default_factory=dict)
    rotation_period_days: int | None = None


class SecretSet(pulumi.ComponentResource):
    """Empty secrets, replicated only where configured; add versions with `gcloud secrets versions add`."""

    def __init__(self, name: str, args: SecretSetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:SecretSet", name, None, opts)
        if not args.replica_locations:
            raise ValueError("replica_locations is empty; name at least one region to keep secrets in")
        self.secrets: dict[str, gcp.secretmanager.Secret] = {}
        for secret_id in dict.fromkeys(args.secret_ids):
            self.secrets[secret_id] = gcp.secretmanager.Secret(
                f"{name}-{secret_id}",
                project=args.project,
                secret_id=secret_id,
                replication=SecretReplicationArgs(
                    user_managed=SecretReplicationUserManagedArgs(
                        replicas=[SecretReplicationUserManagedReplicaArgs(location=loc) for loc in args.replica_locations]
                    )
                ),
                labels=dict(args.labels),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.ids: dict[str, pulumi.Output[str]] = {key: secret.secret_id for key, secret in self.secrets.items()}
        self.register_outputs({"ids": self.ids})
