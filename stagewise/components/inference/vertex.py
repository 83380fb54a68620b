"""Mode vertex: a Model Garden model on a Vertex AI dedicated endpoint with its own GPUs."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp import vertex

from stagewise.components.inference.backend import Backend, Site
from stagewise.components.inference.modes import VertexModelGarden


def declare(site: Site, name: str, mode: VertexModelGarden, served: str) -> Backend:
    """The deployment (endpoint + model) and the dedicated endpoint's own URL."""
    child = site.child
    publisher = mode.model if mode.model.startswith("publishers/") else None
    deployment = vertex.AiEndpointWithModelGardenDeployment(
        name,
        project=site.project,
        location=mode.region,
        publisher_model_name=publisher,
        hugging_face_model_id=None if publisher else mode.model,
        model_config=vertex.AiEndpointWithModelGardenDeploymentModelConfigArgs(
            accept_eula=mode.accept_eula, model_display_name=f"{name}-model"
        ),
        endpoint_config=vertex.AiEndpointWithModelGardenDeploymentEndpointConfigArgs(
            endpoint_display_name=name,
            # A dedicated endpoint gets its own DNS name and no noisy neighbours on the shared API front end.
            dedicated_endpoint_enabled=True,
        ),
        deploy_config=vertex.AiEndpointWithModelGardenDeploymentDeployConfigArgs(
            dedicated_resources=vertex.AiEndpointWithModelGardenDeploymentDeployConfigDedicatedResourcesArgs(
                machine_spec=vertex.AiEndpointWithModelGardenDeploymentDeployConfigDedicatedResourcesMachineSpecArgs(
                    machine_type=mode.machine_type,
                    accelerator_type=mode.accelerator_type,
                    accelerator_count=mode.accelerator_count,
                ),
                min_replica_count=mode.min_replicas,
                max_replica_count=mode.max_replicas,
                spot=mode.spot or None,
            ),
        ),
        opts=child,
    )
    project_number = gcp.organizations.get_project_output(
        project_id=site.project, opts=pulumi.InvokeOutputOptions(parent=site.parent)
    ).number
    # Dedicated endpoints answer on their own DNS name, not the shared regional API host.
    base_url = pulumi.Output.all(deployment.endpoint, project_number, site.project).apply(
        lambda parts: (
            f"https://{parts[0]}.{mode.region}-{parts[1]}.prediction.vertexai.goog"
            f"/v1beta1/projects/{parts[2]}/locations/{mode.region}/endpoints/{parts[0]}"
        )
    )

    def predict(caller: str, member: pulumi.Input[str], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
        return vertex.AiEndpointIamMember(
            f"{name}-{caller}-predict",
            project=site.project,
            location=mode.region,
            endpoint=deployment.endpoint,
            role="roles/aiplatform.user",
            member=member,
            opts=opts,
        )

    return Backend(
        base_url=base_url,
        # Vertex wants an OAuth access token.
        auth_env={"CHAT_OPENAI_AUTH": "google-access-token"},
        metrics_target=deployment.endpoint,
        resources={"deployment": deployment},
        caller_grant=predict,
    )
