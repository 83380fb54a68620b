"""ProjectServices: the Google APIs a stage needs, enabled once, never disabled on destroy."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp


@dataclass
class ProjectServicesArgs:
    project: pulumi.Input[str]
    services: list[str] = field(default_factory=list)


class ProjectServices(pulumi.ComponentResource):
    """Enables APIs; other components depend on `.ready` so they wait for enablement."""

    def __init__(self, name: str, args: ProjectServicesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:ProjectServices", name, None, opts)
        self.services: dict[str, gcp.projects.Service] = {}
        for service in sorted(set(args.services)):
            self.services[service] = gcp.projects.Service(
                f"{name}-{service.split('.')[0]}",
                project=args.project,
                service=service,
                # Disabling an API on destroy breaks anything else in the project that uses it.
                disable_on_destroy=False,
                disable_dependent_services=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.ready: list[pulumi.Resource] = list(self.services.values())
        self.register_outputs({"services": sorted(self.services)})
