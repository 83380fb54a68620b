"""Persona IAM: developers, analysts, partners and admins on the narrowest resources."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from stagewise.components.chat_service import ChatService


@dataclass(frozen=True)
class PersonaTargets:
    """Resources the personas get roles on (resource-level wherever GCP allows), each by a stable key."""

    services: Mapping[str, ChatService]
    partner_service: ChatService | None
    analytics_buckets: Mapping[str, pulumi.Input[str]]
    all_buckets: Mapping[str, pulumi.Input[str]]
    partner_secrets: Mapping[str, pulumi.Input[str]]
    region: str


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class PersonaAccess(pulumi.ComponentResource):
    """Developers, analysts, partners and admins, each mapped to predefined roles on the narrowest resource.

    - developers: deploy and read the services (run.developer on each service, and actAs —
      iam.serviceAccountUser — on each service's own runtime account only, which deploying a
      revision that runs as that account requires:
      https://docs.cloud.google.com/run/docs/configuring/services/service-identity), read logs and metrics.
    - analysts: read the analytics bucket (objectViewer on that bucket only), read metrics.
    - partners: invoke the partner service only — run.invoker on it, declared by that ChatService's
      invoker list (so the binding lives next to the service it opens).
    - admins: administer the services (with actAs on their runtime accounts), buckets and partner
      secrets on those resources, manage log routing and alerting at project level. No basic roles
      (owner/editor/viewer) for anyone.

    Bindings are named by persona, target and member, never by list position, so adding or removing
    a member renames (and so replaces) no other binding; each keeps its former positional name as
    an alias.
    """

    def __init__(
        self, name: str, project: pulumi.Input[str], members: Mapping[str, Sequence[str]], targets: PersonaTargets,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("stagewise:index:PersonaAccess", name, None, opts)
        self.bindings: list[pulumi.CustomResource] = []
        services = dict(targets.services)
        if targets.partner_service is not None:
            services["partners"] = targets.partner_service

        def opts_for(old_name: str) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name=old_name)])

        def on_service(persona: str, key: str, service: ChatService, role: str, member: str, index: int) -> None:
            role_slug = role.rsplit(".", 1)[-1].lower()
            self.bindings.append(
                gcp.cloudrunv2.ServiceIamMember(
                    f"{name}-{persona}-{key}-{role_slug}-{_slug(member)}",
                    project=project, location=targets.region, name=service.service_name, role=role, member=member,
                    opts=opts_for(f"{name}-{persona}-{key}-{role_slug}-{index}"),
                )
            )

        def act_as(persona: str, key: str, service: ChatService, member: str, index: int) -> None:
            # Deploying a revision acts as the service's account: allowed on that account only, not project-wide.
            self.bindings.append(
                gcp.serviceaccount.IAMMember(
                    f"{name}-{persona}-{key}-sa-user-{_slug(member)}",
                    service_account_id=service.service_account.name,
                    role="roles/iam.serviceAccountUser",
                    member=member,
                    opts=opts_for(f"{name}-{persona}-{key}-sa-user-{index}"),
                )
            )

        def on_project(persona: str, role: str, member: str, index: int) -> None:
            role_slug = role.rsplit("/", 1)[-1].replace(".", "-")
            self.bindings.append(
                gcp.projects.IAMMember(
                    f"{name}-{persona}-{role_slug}-{_slug(member)}",
                    project=project, role=role, member=member, opts=opts_for(f"{name}-{persona}-{role_slug}-{index}"),
                )
            )

        def on_buckets(persona: str, buckets: Mapping[str, pulumi.Input[str]], role: str, member: str, index: int) -> None:
            role_slug = role.rsplit(".", 1)[-1].lower()
            for bucket_index, (key, bucket) in enumerate(buckets.items()):
                self.bindings.append(
                    gcp.storage.BucketIAMMember(
                        f"{name}-{persona}-{key}-{role_slug}-{_slug(member)}",
                        bucket=bucket, role=role, member=member,
                        opts=opts_for(f"{name}-{persona}-bucket{bucket_index}-{role_slug}-{index}"),
                    )
                )

        for index, member in enumerate(members.get("developers", ())):
            for key, service in services.items():
                on_service("developers", key, service, "roles/run.developer", member, index)
                act_as("developers", key, service, member, index)
            on_project("developers", "roles/logging.viewer", member, index)
            on_project("developers", "roles/monitoring.viewer", member, index)
        for index, member in enumerate(members.get("analysts", ())):
            on_buckets("analysts", targets.analytics_buckets, "roles/storage.objectViewer", member, index)
            on_project("analysts", "roles/monitoring.viewer", member, index)
        for index, member in enumerate(members.get("admins", ())):
            for key, service in services.items():
                on_service("admins", key, service, "roles/run.admin", member, index)
                act_as("admins", key, service, member, index)
            on_buckets("admins", targets.all_buckets, "roles/storage.admin", member, index)
            for secret_index, (secret_key, secret) in enumerate(targets.partner_secrets.items()):
                self.bindings.append(
                    gcp.secretmanager.SecretIamMember(
                        f"{name}-admins-{secret_key}-admin-{_slug(member)}",
                        project=project, secret_id=secret, role="roles/secretmanager.admin", member=member,
                        opts=opts_for(f"{name}-admins-secret{secret_index}-admin-{index}"),
                    )
                )
            on_project("admins", "roles/logging.configWriter", member, index)
            on_project("admins", "roles/monitoring.editor", member, index)
        self.register_outputs({"bindings": len(self.bindings)})
