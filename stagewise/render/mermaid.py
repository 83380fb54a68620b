"""The architecture a stack's program declares, drawn as a Mermaid flowchart.

Nothing here is drawn by hand: the nodes are the program's top-level components (each with its key
resources), the edges are the dependencies the engine recorded between resources of different
components (a resource's `dependsOn` and the resources behind the outputs its inputs use, as Pulumi
tracks them). `A --> B` reads "A refers to B" (the chat service to the bucket it reads, the load
balancer to the service it fronts). The API enablement component is drawn without its edges: every
component depends on it.

    stagewise review STACK --format mermaid             one stack's diagram
    python -m stagewise.render.mermaid --write | --check       the diagrams between `<!-- BEGIN diagram: STACK -->`
                                                        markers in README.md and docs/stages.md
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stagewise.engine.record import DeclaredResource, ProgramRun

# Component type (its token's last part) -> the kind it is drawn as.
KINDS: dict[str, str] = {
    "ChatService": "service",
    "InferenceEndpoint": "model",
    "BucketSet": "data",
    "FirestoreDatabase": "data",
    "FirestoreExport": "data",
    "SecretSet": "data",
    "EdgeLoadBalancer": "edge",
    "VpcNetwork": "network",
    "Alerting": "ops",
    "LogSink": "ops",
    "ErrorLogMetric": "ops",
    "BillingBudget": "ops",
    "ContainerImage": "build",
    "ProjectServices": "platform",
}
STYLES: dict[str, str] = {
    "service": "fill:#dbeafe,stroke:#1d4ed8",
    "model": "fill:#ede9fe,stroke:#6d28d9",
    "data": "fill:#dcfce7,stroke:#15803d",
    "edge": "fill:#fee2e2,stroke:#b91c1c",
    "network": "fill:#f3f4f6,stroke:#4b5563",
    "ops": "fill:#fef9c3,stroke:#a16207",
    "build": "fill:#ffedd5,stroke:#c2410c",
    "platform": "fill:#f3f4f6,stroke:#9ca3af",
    "other": "fill:#ffffff,stroke:#6b7280",
}
# Resource types worth naming inside a component's box; the rest are counted.
KEY_RESOURCES: dict[str, str] = {
    "gcp:cloudrunv2/service:Service": "Cloud Run service",
    "gcp:storage/bucket:Bucket": "bucket",
    "gcp:firestore/database:Database": "Firestore database",
    "gcp:firestore/backupSchedule:BackupSchedule": "backup schedule",
    "gcp:secretmanager/secret:Secret": "secret",
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": "global forwarding rule",
    "gcp:compute/backendService:BackendService": "backend service",
    "gcp:compute/securityPolicy:SecurityPolicy": "Cloud Armor policy",
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": "managed certificate",
    "gcp:compute/network:Network": "VPC network",
    "gcp:compute/subnetwork:Subnetwork": "subnet",
    "gcp:compute/routerNat:RouterNat": "Cloud NAT",
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager": "VM group",
    "gcp:compute/forwardingRule:ForwardingRule": "internal forwarding rule",
    "gcp:vertex/aiEndpoint:AiEndpoint": "Vertex AI endpoint",
    "gcp:vertex/aiEndpointWithModelGardenDeployment:AiEndpointWithModelGardenDeployment": "Vertex AI endpoint",
    "gcp:artifactregistry/repository:Repository": "Artifact Registry repository",
    "docker:index/image:Image": "image build",
    "gcp:logging/projectSink:ProjectSink": "log sink",
    "gcp:logging/metric:Metric": "log metric",
    "gcp:monitoring/alertPolicy:AlertPolicy": "alert policy",
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": "uptime check",
    "gcp:monitoring/dashboard:Dashboard": "dashboard",
    "gcp:billing/budget:Budget": "budget",
    "gcp:cloudscheduler/job:Job": "scheduler job",
    "gcp:projects/service:Service": "API",
}


@dataclass
class Component:
    urn: str
    name: str
    type: str
    resources: list[DeclaredResource] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return KINDS.get(self.type.rsplit(":", 1)[-1], "other")

    @property
    def node_id(self) -> str:
        return "c_" + re.sub(r"\W", "_", self.name)


@dataclass
class Architecture:
    stack: str
    components: list[Component]
    edges: list[tuple[str, str]]  # (component URN, component URN): the first refers to the second


def architecture(run: ProgramRun) -> Architecture:
    by_urn = {r.urn: r for r in run.resources}

    def top(resource: DeclaredResource) -> DeclaredResource:
        while resource.parent and resource.parent != run.stack_urn and resource.parent in by_urn:
            resource = by_urn[resource.parent]
        return resource

    components: dict[str, Component] = {}
    loose: list[DeclaredResource] = []  # custom resources declared straight under the stack
    for resource in run.resources:
        owner = top(resource)
        if owner.custom:
            if owner.urn == resource.urn:
                loose.append(resource)
            continue
        component = components.setdefault(owner.urn, Component(owner.urn, owner.name, owner.type))
        if resource.custom:
            component.resources.append(resource)
    for resource in loose:
        components[resource.urn] = Component(resource.urn, resource.name, resource.type, [resource])

    def owner_urn(resource: DeclaredResource) -> str:
        owner = top(resource)
        return owner.urn

    platform = {urn for urn, c in components.items() if c.kind == "platform"}
    edges: set[tuple[str, str]] = set()
    for resource in run.resources:
        source = owner_urn(resource)
        dependencies = set(resource.dependencies) | {u for urns in resource.property_dependencies.values() for u in urns}
        for urn in dependencies:
            if urn not in by_urn:
                continue
            target = owner_urn(by_urn[urn])
            if source != target and source in components and target in components and target not in platform:
                edges.add((source, target))
    ordered = sorted(components.values(), key=lambda c: (list(STYLES).index(c.kind), c.name))
    return Architecture(run.stack, ordered, sorted(edges, key=lambda e: (components[e[0]].name, components[e[1]].name)))


def _label(component: Component) -> str:
    counts: dict[str, int] = {}
    others = 0
    for resource in component.resources:
        label = KEY_RESOURCES.get(resource.type)
        if label is None:
            others += 1
        else:
            counts[label] = counts.get(label, 0) + 1
    kind = component.type.rsplit(":", 1)[-1]
    lines = [f"<b>{component.name}</b>", kind]
    # In KEY_RESOURCES' order, not registration order: the program registers resources concurrently,
    # so their order varies from run to run, and the drawing must not.
    order = list(dict.fromkeys(KEY_RESOURCES.values()))
    lines += [f"{label} ×{counts[label]}" if counts[label] > 1 else label for label in order if label in counts]
    if others:
        lines.append(f"+{others} more")
    return "<br/>".join(line.replace('"', "'") for line in lines)


def render_mermaid(run: ProgramRun) -> str:
    """The stack's architecture as a Mermaid flowchart (text that GitHub renders in a ```mermaid block)."""
    arch = architecture(run)
    by_urn = {c.urn: c for c in arch.components}
    lines = ["flowchart LR", f"  %% stagewise review {arch.stack} --format mermaid: drawn from what the program declares"]
    for component in arch.components:
        lines.append(f'  {component.node_id}["{_label(component)}"]:::k_{component.kind}')
    pairs = set(arch.edges)
    for source, target in arch.edges:
        if (target, source) in pairs:
            if by_urn[source].name < by_urn[target].name:
                lines.append(f"  {by_urn[source].node_id} <--> {by_urn[target].node_id}")
        else:
            lines.append(f"  {by_urn[source].node_id} --> {by_urn[target].node_id}")
    for kind in sorted({c.kind for c in arch.components}):
        lines.append(f"  classDef k_{kind} {STYLES[kind]}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the diagrams in the docs

ROOT = Path(__file__).resolve().parent.parent.parent
DOCUMENTS = ("README.md", "docs/stages.md")
MARKER = re.compile(r"(<!-- BEGIN diagram: (?P<stack>[\w.-]+) -->\n)(?P<body>.*?)(<!-- END diagram -->)", re.S)


def stack_diagram(stack: str, root: Path = ROOT) -> str:
    """The diagram of a shipped stack; one whose file still holds REPLACE-ME values is drawn with
    examples/values/<stack>.yaml laid over it, as the offline review does."""
    from stagewise.engine.record import load_values
    from stagewise.engine.record import run_stack

    values_dir = root / "examples" / "values"
    stack_file = root / f"Pulumi.{stack}.yaml"
    overrides = load_values([values_dir], stack) if "REPLACE-ME" in stack_file.read_text() and values_dir.is_dir() else {}
    return render_mermaid(run_stack(stack, overrides=overrides, root=root))


def render_documents(texts: dict[str, str], draw: Callable[[str], str]) -> dict[str, str]:
    """Each text with its diagram markers filled by ``draw(stack)``."""
    cache: dict[str, str] = {}

    def body(match: re.Match[str]) -> str:
        stack = match["stack"]
        if stack not in cache:
            cache[stack] = draw(stack)
        return f"{match.group(1)}```mermaid\n{cache[stack]}```\n{match.group(4)}"

    return {path: MARKER.sub(body, text) for path, text in texts.items()}


def main(argv: Sequence[str]) -> int:
    texts = {path: (ROOT / path).read_text() for path in DOCUMENTS}
    rendered = render_documents(texts, stack_diagram)
    stale = [path for path in DOCUMENTS if rendered[path] != texts[path]]
    if "--check" in argv:
        if stale:
            print(f"stale diagrams in {', '.join(stale)}: run `uv run python -m stagewise.render.mermaid --write`", file=sys.stderr)
            return 1
        return 0
    if "--write" in argv:
        for path in stale:
            (ROOT / path).write_text(rendered[path])
            print(f"wrote {path}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
