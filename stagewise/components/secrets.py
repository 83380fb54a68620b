"""SecretSet: Secret Manager secrets, each with a first version so the first deploy can start.

Cloud Run resolves a secret reference when a revision starts; a secret with no version fails the
first revision ("versions/latest was not found",
https://github.com/hashicorp/terraform-provider-google/issues/10846). So every secret the set
creates gets an initial version from the caller (``initial_values``), a value the consuming app
starts with but that grants nothing: the stacks give the API-key secrets a key set no key
matches (`no_key_matches`), so the app starts and answers every keyed request with 401 until
the real keys are added.

The real values never pass through the program or its state:

    printf '%s' '{"acme": "sk-…"}' | gcloud secrets versions add chat-api-keys --data-file=-

A new version becomes `latest`; instances started after that read it. The initial version is
declared with ``ignore_changes`` on its data and enabled state, so rotating with gcloud (adding
versions, disabling the first one) is never undone by a later `pulumi up`, and with deletion
policy ABANDON, so removing it from the program never destroys a version a revision may still
read. Its data is a Pulumi secret (encrypted in state), though it holds no credential.
Secret Manager versions and the `latest` alias: https://cloud.google.com/secret-manager/docs/add-secret-version
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp.secretmanager import (
    SecretReplicationArgs,
    SecretReplicationUserManagedArgs,
    SecretReplicationUserManagedReplicaArgs,
)


def no_key_matches(secret_id: str) -> str:
    """`sha256:<64 hex>` that no API key hashes to, one per secret (so two such keys never collide).

    The app keeps keys as SHA-256 digests and accepts a digest in place of a key
    (app/src/chatapp/auth.py). These 256 bits are the bitwise complement of a SHA-256 digest,
    not a digest of any input: presenting a key that matches would take a SHA-256 preimage.
    """
    inverted = bytes(byte ^ 0xFF for byte in hashlib.sha256(f"stagewise-no-key:{secret_id}".encode()).digest())
    return "sha256:" + inverted.hex()


@dataclass
class SecretSetArgs:
    project: pulumi.Input[str]
    secret_ids: Sequence[str]
    replica_locations: Sequence[str]
    # secret id -> data of its first version; a secret without one gets no version (nothing may read it at `latest`).
    initial_values: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    # secret id -> its annotations (free-form metadata, e.g. the source ranges a partner key is limited to):
    # https://cloud.google.com/secret-manager/docs/creating-and-managing-annotations
    annotations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    rotation_period_days: int | None = None
    depends_on: Sequence[pulumi.Resource] = ()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.initial_values) - set(self.secret_ids))
        if unknown:
            raise ValueError(f"initial_values for {', '.join(unknown)}, which are not in secret_ids; add them there or drop them")


class SecretSet(pulumi.ComponentResource):
    """Secrets replicated only where configured, each with its caller-given first version."""

    def __init__(self, name: str, args: SecretSetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:SecretSet", name, None, opts)
        if not args.replica_locations:
            raise ValueError("replica_locations is empty; name at least one region to keep secrets in")
        self.secrets: dict[str, gcp.secretmanager.Secret] = {}
        self.versions: dict[str, gcp.secretmanager.SecretVersion] = {}
        for secret_id in dict.fromkeys(args.secret_ids):
            secret = gcp.secretmanager.Secret(
                f"{name}-{secret_id}",
                project=args.project,
                secret_id=secret_id,
                replication=SecretReplicationArgs(
                    user_managed=SecretReplicationUserManagedArgs(
                        replicas=[SecretReplicationUserManagedReplicaArgs(location=loc) for loc in args.replica_locations]
                    )
                ),
                labels=dict(args.labels),
                annotations=dict(args.annotations[secret_id]) if args.annotations.get(secret_id) else None,
                # Components do not pass depends_on to their children: each child names it itself.
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
            )
            self.secrets[secret_id] = secret
            if secret_id in args.initial_values:
                self.versions[secret_id] = gcp.secretmanager.SecretVersion(
                    f"{name}-{secret_id}-initial",
                    # The secret's resource name, projects/P/secrets/ID (the same value as its id).
                    secret=secret.name,
                    secret_data=pulumi.Output.secret(args.initial_values[secret_id]),
                    deletion_policy="ABANDON",
                    opts=pulumi.ResourceOptions(parent=self, ignore_changes=["secretData", "enabled"]),
                )
        self.ids: dict[str, pulumi.Output[str]] = {key: secret.secret_id for key, secret in self.secrets.items()}
        self.register_outputs({"ids": self.ids})

    def ready(self, secret_ids: Sequence[str]) -> list[pulumi.Resource]:
        """What a reader of ``secret_ids`` must wait for: each secret and its first version."""
        wanted = dict.fromkeys(secret_ids)
        return [*(self.secrets[s] for s in wanted if s in self.secrets), *(self.versions[s] for s in wanted if s in self.versions)]
