"""docs/policies.md: the rule catalogue, generated from the pack's metadata and stage configs.

`uv run python -m stagewise.policy.catalogue --write` regenerates it; tests/test_policy_catalogue.py
fails when the committed file is out of date.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from stagewise.engine.record import REPO_ROOT
from stagewise.policy.config import LEVELS, PolicySetting, load_config_file
from stagewise.policy.analyzer import POLICIES_DIR, Analyzer, load_pack, stage_config_path

DOC_PATH = REPO_ROOT / "docs" / "policies.md"
STAGES = ("mvp", "staging", "prod")
FAMILY_TITLES = {
    "iam": "IAM",
    "storage": "Storage and retention",
    "network": "Network, load balancer and Cloud Armor",
    "runtime": "Cloud Run",
    "compute": "Compute, GPU and Vertex AI",
    "secrets": "Secrets",
    "observability": "Observability",
    "cost": "Cost guardrails",
}
USAGE = [
    "## Running the pack",
    "",
    "With the Pulumi CLI (the pack is a standalone Python policy pack: Pulumi creates `policies/venv` from",
    "`policies/requirements.txt` on first use; the rules import nothing from this repository's packages):",
    "",
    "```sh",
    "pulumi preview --stack prod --policy-pack policies --policy-pack-config policies/config/prod.json",
    "```",
    "",
    "Always pass the stage's config: without it every rule runs at its own default level (the prod level).",
    "Offline, with no cloud account and no Pulumi CLI, the same rules run through pulumi-policy's analyzer on",
    "what the program declares under mocks; a mandatory violation makes the command exit 1:",
    "",
    "```sh",
    "uv run stagewise review prod            # text; --format json | markdown",
    "```",
    "",
    "Resource rules see a resource's inputs as the engine sends them (camelCase, numbers as floats); a property",
    "the program leaves out counts as the provider's default (e.g. Cloud Run ingress ALL). Stack rules see",
    "every resource's outputs. Secret values reach policies in plain text; messages never include property",
    "values that could be secret. The CLI fills schema defaults before `Configure`; the SDK does not, so the",
    "rules apply the same defaults themselves.",
    "",
    "Each stage's `cost-resource-type-allowlist` lists the resource types its composition declares, derived by running",
    "the stage's program under the config variants it supports; after changing a composition, regenerate the lists",
    "with `uv run python -m stagewise.policy.allowlist --write` (then `uv run python -m bootstrap.policy_config`, since",
    "the bootstrap's config is prod's plus exceptions). Types a stage needs on top go in its `extraTypes`, by hand.",
    "",
]
# CIS Google Cloud Platform Foundation Benchmark v3.0.0 controls, by id, with the rules that check them.
# Ids and titles: turbot/steampipe-mod-gcp-compliance cis_v300/section_1..5.sp (v3.0.0) and cis_v400/section_1..4.pp
# (v4.0.0), where sections 1-4 keep the same ids and titles for every control mapped here.
CIS_SOURCE = ("https://github.com/turbot/steampipe-mod-gcp-compliance/tree/main/cis_v300 (v3.0.0) and "
              "https://github.com/turbot/steampipe-mod-gcp-compliance/tree/main/cis_v400 (v4.0.0)")
CHECKOV_SOURCE = "https://github.com/bridgecrewio/checkov/tree/main/checkov/terraform/checks/resource/gcp"
CIS_CONTROLS: dict[str, str] = {
    "1.1": "Corporate login credentials are used",
    "1.2": "Multi-factor authentication for all non-service accounts",
    "1.3": "Security Key Enforcement for admin accounts",
    "1.4": "Only GCP-managed service account keys",
    "1.5": "Service accounts have no admin privileges",
    "1.6": "No Service Account User / Token Creator at project level",
    "1.7": "User-managed service account keys rotated every 90 days",
    "1.8": "Separation of duties for service-account roles",
    "1.9": "Cloud KMS keys are not publicly accessible",
    "1.10": "KMS keys rotated within 90 days",
    "1.11": "Separation of duties for KMS roles",
    "1.12": "API keys only for active services",
    "1.13": "API keys restricted to hosts and apps",
    "1.14": "API keys restricted to the APIs they need",
    "1.15": "API keys rotated every 90 days",
    "1.16": "Essential Contacts configured for the organization",
    "1.17": "No secrets in Cloud Functions environment variables",
    "2.1": "Cloud Audit Logging configured properly",
    "2.2": "Sinks configured for all log entries",
    "2.3": "Log export buckets retained with Bucket Lock",
    "2.4": "Log metric and alert: project ownership changes",
    "2.5": "Log metric and alert: audit configuration changes",
    "2.6": "Log metric and alert: custom role changes",
    "2.7": "Log metric and alert: VPC firewall rule changes",
    "2.8": "Log metric and alert: VPC route changes",
    "2.9": "Log metric and alert: VPC network changes",
    "2.10": "Log metric and alert: Cloud Storage IAM changes",
    "2.11": "Log metric and alert: Cloud SQL configuration changes",
    "2.12": "Cloud DNS logging for all VPC networks",
    "2.13": "Cloud Asset Inventory enabled",
    "2.14": "Access Transparency enabled",
    "2.15": "Access Approval enabled",
    "2.16": "Logging for HTTP(S) load balancers",
    "3.1": "No default network",
    "3.2": "No legacy networks",
    "3.3": "DNSSEC for Cloud DNS",
    "3.4": "No RSASHA1 key-signing keys",
    "3.5": "No RSASHA1 zone-signing keys",
    "3.6": "SSH restricted from the internet",
    "3.7": "RDP restricted from the internet",
    "3.8": "VPC Flow Logs on every subnet",
    "3.9": "No weak SSL policies on HTTPS/SSL proxies",
    "3.10": "IAP for admin traffic (only Google ranges allowed)",
    "4.1": "Instances do not use the default service account",
    "4.2": "Instances do not use the default service account with full API access",
    "4.3": "Block project-wide SSH keys",
    "4.4": "OS Login enabled for the project",
    "4.5": "Serial port access disabled",
    "4.6": "IP forwarding disabled",
    "4.7": "VM disks encrypted with customer-supplied keys",
    "4.8": "Shielded VM",
    "4.9": "No public IP addresses on instances",
    "4.10": "App Engine enforces HTTPS",
    "4.11": "Confidential Computing",
    "4.12": "Latest OS updates installed",
    "5.1": "Buckets not publicly accessible",
    "5.2": "Uniform bucket-level access",
}
CIS_SECTIONS_NOT_USED = {
    "6": "Cloud SQL", "7": "BigQuery", "8": "Dataproc",
}
# rule -> the controls it checks ("(in part)" where it checks less than the control asks).
CIS_MAPPING: dict[str, tuple[str, ...]] = {
    "iam-no-public-members": ("5.1", "1.9"),
    "iam-no-basic-roles": ("1.5",),
    "iam-no-project-impersonation": ("1.6",),
    "iam-sa-no-admin-roles": ("1.5",),
    "iam-no-default-service-accounts": ("4.1", "4.2"),
    "iam-no-service-account-keys": ("1.4", "1.7"),
    "iam-allowed-domains": ("1.1",),
    "iam-people-no-admin-roles": ("1.8 (in part)", "1.11 (in part)"),
    "storage-uniform-access": ("5.2",),
    "storage-public-access-prevention": ("5.1",),
    "storage-no-public-acl": ("5.1",),
    "storage-retention-locked": ("2.3 (for the classes in lockedClasses)",),
    "net-no-world-ingress": ("3.6", "3.7"),
    "net-admin-ports-iap-only": ("3.6", "3.7", "3.10"),
    "net-no-default-network": ("3.1",),
    "net-subnet-flow-logs": ("3.8",),
    "net-https-proxy-ssl-policy": ("3.9",),
    "net-ssl-policy-tls12": ("3.9",),
    "lb-backend-logging": ("2.16",),
    "compute-shielded-vm": ("4.8",),
    "compute-os-login": ("4.4",),
    "compute-block-project-ssh-keys": ("4.3",),
    "compute-no-serial-port": ("4.5",),
    "compute-no-ip-forwarding": ("4.6",),
    "compute-no-external-ip": ("4.9",),
    "compute-disk-cmek": ("4.7 (customer-managed keys; customer-supplied accepted too)",),
    "kms-key-rotation": ("1.10",),
    "obs-audit-log-config": ("2.1",),
    "obs-audit-logs-all-services": ("2.1",),
    "obs-log-sink-retained": ("2.2 (in part: a retained sink; CIS asks for an empty filter)",),
    "run-secrets-from-secret-manager": ("1.17 (the same for Cloud Run; Cloud Functions are outside every stage's allowlist)",),
}
# Controls no rule checks, and why.
CIS_NOT_COVERED: dict[str, str] = {
    "1.2": "account settings in Cloud Identity, not resources a program declares",
    "1.3": "account settings in Cloud Identity, not resources a program declares",
    "1.12": "API keys: no stage declares apikeys.Key, so the type allowlist refuses one",
    "1.13": "API keys: refused by the type allowlist",
    "1.14": "API keys: refused by the type allowlist",
    "1.15": "API keys: refused by the type allowlist",
    "1.16": "organization setting, outside these projects' stacks",
    "2.4": "log-based alerts on IAM and configuration changes: not yet part of the alerting component (the deploy-readiness and alerting owners' scope)",
    "2.5": "as 2.4",
    "2.6": "as 2.4",
    "2.7": "as 2.4",
    "2.8": "as 2.4",
    "2.9": "as 2.4",
    "2.10": "as 2.4",
    "2.11": "no Cloud SQL in any stage",
    "2.12": "no Cloud DNS policies in any stage",
    "2.13": "a project service setting, not checked (enable cloudasset.googleapis.com with stagewise:extraApis)",
    "2.14": "organization setting",
    "2.15": "organization setting",
    "3.2": "legacy networks can no longer be created",
    "3.3": "no Cloud DNS managed zones in any stage (the type allowlist refuses one)",
    "3.4": "as 3.3",
    "3.5": "as 3.3",
    "4.10": "no App Engine in any stage (the type allowlist refuses one)",
    "4.11": "Confidential VMs are not offered on the GPU machine types the stages use; not checked",
    "4.12": "OS patch state is runtime, not configuration",
}

# Rules prod keeps advisory on purpose, and why (rendered under the CIS section).
ADVISORY_IN_PROD: dict[str, str] = {
    "storage-cmek": (
        "A bucket with a default KMS key can only be created once the project's Cloud Storage service agent holds "
        "roles/cloudkms.cryptoKeyEncrypterDecrypter on that key; until then GCS refuses it with 403 \"Permission denied "
        "on Cloud KMS key\" (https://docs.cloud.google.com/storage/docs/encryption/using-customer-managed-keys, "
        "https://github.com/GoogleCloudPlatform/magic-modules/pull/3747). The stages create no key ring, key or agent "
        "grant, so a mandatory rule would make every prod bucket undeployable; set stagewise:buckets.<key>.kmsKey to a "
        "key on which the project's Cloud Storage service agent already holds that role and the rule passes. Google-managed encryption stays the default."
    ),
}

UNKNOWN_NOTE = {
    "skip": "skip",
    "fail-closed": "fail closed",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _types(rule: object) -> str:
    applies = str(getattr(rule, "applies_to", ""))
    if applies:
        return applies
    tokens: tuple[str, ...] = getattr(rule, "types")
    return ", ".join(f"`{_sdk_name(token)}`" for token in tokens)


def _sdk_name(token: str) -> str:
    """gcp:projects/iAMMember:IAMMember -> projects.IAMMember (the Python SDK's name)."""
    _, module, cls = token.split(":")
    return f"{module.split('/')[0]}.{cls}"


def _stage_cell(setting: PolicySetting, defaults: dict[str, object]) -> str:
    level = setting.level or "advisory"
    changed = {key: value for key, value in setting.properties.items() if defaults.get(key) != value}
    if not changed or level == "disabled":
        return level
    details = ", ".join(f"{key}={_format(value)}" for key, value in sorted(changed.items()))
    return f"{level} ({details})"


LONG_LIST = 12


def _format(value: object) -> str:
    if isinstance(value, list):
        if len(value) > LONG_LIST:
            return f"[{len(value)} types]" if all(":" in str(item) for item in value) else f"[{len(value)} items]"
        return "[" + ", ".join(str(item).rsplit(":", 1)[-1] for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_format(item)}" for key, item in value.items()) + "}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render_catalogue(pack_dir: Path = POLICIES_DIR) -> str:
    pack = load_pack(pack_dir)
    settings = {
        stage: Analyzer(load_config_file(stage_config_path(stage, pack_dir)), source=stage, pack_dir=pack_dir).settings
        for stage in STAGES
    }
    rules = list(pack.RULES)
    lines = [
        "# Policy catalogue",
        "",
        f"<!-- Generated by `uv run python -m stagewise.policy.catalogue --write` from policies/; do not edit by hand. -->",
        "",
        f"The `{pack.PACK_NAME}` pack has **{len(rules)} rules** "
        f"({sum(1 for r in rules if not r.stack)} resource rules, {sum(1 for r in rules if r.stack)} stack rules). "
        "Stage columns show the enforcement level from `policies/config/<stage>.json` and the thresholds that differ "
        f"from the rule's defaults (levels: {', '.join(LEVELS)}). *Unknown at preview*: `skip` — the SDK reports an "
        "advisory \"can't run during preview\" and the rule runs again on known values during `pulumi up`, before the "
        "resource is created; `fail closed` — the rule reports a violation because the value should be a literal.",
        "",
        *USAGE,
    ]
    for family in pack.FAMILIES:
        members = [rule for rule in rules if rule.family == family]
        if not members:
            continue
        lines += [
            f"## {FAMILY_TITLES.get(family, family)}",
            "",
            "| Rule | Applies to | What it checks | mvp | staging | prod | Unknown at preview | Fix | Config (defaults) |",
            "| - | - | - | - | - | - | - | - | - |",
        ]
        for rule in members:
            defaults = rule.defaults()
            stages = [_stage_cell(settings[stage][rule.name], defaults) for stage in STAGES]
            params = ", ".join(f"`{key}`={_format(value)}" for key, value in sorted(defaults.items())) or "—"
            kind = " (stack)" if rule.stack else ""
            references = [f"CIS {', '.join(CIS_MAPPING[rule.name])}"] if rule.name in CIS_MAPPING else []
            references += [rule.anchor] if rule.anchor else []
            anchor = f" [{'; '.join(references)}]" if references else ""
            lines.append(
                "| " + " | ".join(_cell(part) for part in (
                    f"`{rule.name}`{kind}",
                    _types(rule),
                    rule.description + anchor,
                    *stages,
                    UNKNOWN_NOTE[rule.unknowns],
                    rule.remediation,
                    params,
                )) + " |"
            )
        lines.append("")
    lines += cis_section()
    return "\n".join(lines)


def _control_key(control: str) -> tuple[int, ...]:
    return tuple(int(part) for part in control.split("."))


def cis_section() -> list[str]:
    """Which rule checks which CIS control, and what the pack leaves out and why."""
    by_control: dict[str, list[str]] = {}
    for rule, controls in CIS_MAPPING.items():
        for control in controls:
            control_id, _, note = control.partition(" ")
            by_control.setdefault(control_id, []).append(f"`{rule}`{' ' + note if note else ''}")
    lines = [
        "## CIS Google Cloud Platform Foundation Benchmark",
        "",
        "Each CIS v3.0.0 recommendation of sections 1-5 and the rules that check it; the ids and titles are the same in",
        f"v4.0.0. Sources: {CIS_SOURCE}. Rule rows cite Checkov's checks of the same intent ({CHECKOV_SOURCE}).",
        "",
        "| Control | Recommendation | Rules |",
        "| - | - | - |",
    ]
    for control in sorted(CIS_CONTROLS, key=_control_key):
        if control in by_control:
            lines.append(f"| {control} | {CIS_CONTROLS[control]} | {_cell(', '.join(by_control[control]))} |")
    lines += [
        "",
        "Not covered, and why:",
        "",
        "| Control | Recommendation | Why |",
        "| - | - | - |",
    ]
    for control in sorted(CIS_NOT_COVERED, key=_control_key):
        lines.append(f"| {control} | {CIS_CONTROLS[control]} | {_cell(CIS_NOT_COVERED[control])} |")
    lines += ["", "Advisory in prod, and why:", ""]
    lines += [f"- `{rule}`: {why}" for rule, why in ADVISORY_IN_PROD.items()]
    sections = ", ".join(f"{section} ({name})" for section, name in CIS_SECTIONS_NOT_USED.items())
    lines += ["", f"Sections {sections}: no stage declares these services, and the type allowlist "
              "(`cost-resource-type-allowlist`) refuses their resources until a stage's composition does.", ""]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {DOC_PATH.relative_to(REPO_ROOT)}")
    args = parser.parse_args(argv)
    text = render_catalogue()
    if args.write:
        DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
        DOC_PATH.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
