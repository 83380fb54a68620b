"""Cloud Run behind a global HTTPS load balancer, Firestore and a secret, as a careful user writes it
with raw pulumi_gcp resources. `app:break` names one defect to introduce (tests flip it)."""

import pulumi
import pulumi_gcp as gcp

config = pulumi.Config("app")
project = pulumi.Config("gcp").require("project")
region = pulumi.Config("gcp").require("region")
domain = config.require("domain")
defect = config.get("break") or ""
labels = {"env": "mvp", "owner": "chat-team", "cost-center": "llm-chat"}

apis = {
    name: gcp.projects.Service(name.split(".")[0], project=project, service=name, disable_on_destroy=False)
    for name in ("run.googleapis.com", "iam.googleapis.com", "firestore.googleapis.com", "secretmanager.googleapis.com",
                 "compute.googleapis.com")
}


def after(*names: str) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(depends_on=[apis[name] for name in names])


account = gcp.serviceaccount.Account("runner", project=project, account_id="chat-runner", display_name="chat runner",
                                     opts=after("iam.googleapis.com"))
member = account.email.apply(lambda email: f"serviceAccount:{email}")

database = gcp.firestore.Database("db", project=project, name="(default)", location_id="eur3", type="FIRESTORE_NATIVE",
                                  delete_protection_state="DELETE_PROTECTION_ENABLED", deletion_policy="DELETE",
                                  opts=after("firestore.googleapis.com"))
db_user = gcp.projects.IAMMember("runner-datastore", project=project, role="roles/datastore.user", member=member)

secret = gcp.secretmanager.Secret(
    "api-keys", project=project, secret_id="chat-api-keys", labels=labels,
    replication=gcp.secretmanager.SecretReplicationArgs(
        user_managed=gcp.secretmanager.SecretReplicationUserManagedArgs(
            replicas=[gcp.secretmanager.SecretReplicationUserManagedReplicaArgs(location=region)])),
    opts=after("secretmanager.googleapis.com"),
)
version = None
if defect != "no-secret-version":
    version = gcp.secretmanager.SecretVersion("api-keys-initial", secret=secret.id, secret_data=pulumi.Output.secret("{}"),
                                              opts=pulumi.ResourceOptions(ignore_changes=["secretData"]))
accessor = gcp.secretmanager.SecretIamMember("runner-secret", project=project, secret_id=secret.secret_id,
                                             role="roles/secretmanager.secretAccessor", member=member)

cpu = "8" if defect == "too-much-cpu-for-memory" else "1"
service = gcp.cloudrunv2.Service(
    "chat", name="chat", project=project, location=region, deletion_protection=False,
    ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER", default_uri_disabled=True, labels=labels,
    template=gcp.cloudrunv2.ServiceTemplateArgs(
        service_account=account.email,
        max_instance_request_concurrency=80,
        timeout="300s",
        scaling=gcp.cloudrunv2.ServiceTemplateScalingArgs(min_instance_count=0, max_instance_count=3),
        containers=[gcp.cloudrunv2.ServiceTemplateContainerArgs(
            image="us-docker.pkg.dev/cloudrun/container/hello@sha256:" + "4f7c5a3b" * 8,
            resources=gcp.cloudrunv2.ServiceTemplateContainerResourcesArgs(limits={"cpu": cpu, "memory": "512Mi"}),
            envs=[
                gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(name="STORE", value="firestore"),
                gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(
                    name="API_KEYS",
                    value_source=gcp.cloudrunv2.ServiceTemplateContainerEnvValueSourceArgs(
                        secret_key_ref=gcp.cloudrunv2.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs(
                            secret=secret.secret_id, version="latest"))),
            ],
            startup_probe=gcp.cloudrunv2.ServiceTemplateContainerStartupProbeArgs(
                http_get=gcp.cloudrunv2.ServiceTemplateContainerStartupProbeHttpGetArgs(path="/ready"),
                period_seconds=5, timeout_seconds=2, failure_threshold=12),
        )],
    ),
    opts=pulumi.ResourceOptions(depends_on=[apis["run.googleapis.com"], accessor, db_user, *([version] if version else [])]),
)
# The load balancer carries no Google identity: the app checks API keys; ingress admits only the LB.
gcp.cloudrunv2.ServiceIamMember("chat-public", project=project, location=region, name=service.name,
                                role="roles/run.invoker", member="allUsers")

neg = gcp.compute.RegionNetworkEndpointGroup(
    "chat-neg", project=project, region=region, network_endpoint_type="SERVERLESS",
    cloud_run=gcp.compute.RegionNetworkEndpointGroupCloudRunArgs(service=service.name),
    opts=after("compute.googleapis.com"),
)
backend = gcp.compute.BackendService(
    "chat-backend", project=project, load_balancing_scheme="EXTERNAL_MANAGED", protocol="HTTPS",
    backends=[gcp.compute.BackendServiceBackendArgs(group=neg.id)],
    **({"timeout_sec": 30} if defect == "neg-timeout" else {}),
    opts=after("compute.googleapis.com"),
)
url_map = gcp.compute.URLMap("chat-urls", project=project, default_service=backend.id, opts=after("compute.googleapis.com"))
cert = gcp.compute.ManagedSslCertificate(
    "chat-cert", project=project, name="chat-cert",
    managed=gcp.compute.ManagedSslCertificateManagedArgs(domains=[domain]), opts=after("compute.googleapis.com"),
)
proxy = gcp.compute.TargetHttpsProxy("chat-https", project=project, url_map=url_map.id, ssl_certificates=[cert.id],
                                     opts=after("compute.googleapis.com"))
address = gcp.compute.GlobalAddress("chat-ip", project=project, opts=after("compute.googleapis.com"))
gcp.compute.GlobalForwardingRule(
    "chat-forwarding", project=project, target=proxy.id, port_range="443", ip_address=address.address,
    load_balancing_scheme="EXTERNAL_MANAGED", opts=after("compute.googleapis.com"),
)

pulumi.export("ip", address.address)
pulumi.export("database", database.name)
