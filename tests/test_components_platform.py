"""ContainerImage, SecretSet, ProjectServices, ErrorLogMetric and the IAM grant helper."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import one

from stagewise.components.apis import ProjectServices, ProjectServicesArgs
from stagewise.components.iam import check_role
from stagewise.components.log_metrics import ErrorLogMetric, ErrorLogMetricArgs
from stagewise.components.registry import BuildFromSource, ContainerImage, ContainerImageArgs, ExternalImage
from stagewise.components.secrets import SecretSet, SecretSetArgs


def test_built_image_goes_to_a_cleaned_registry_and_is_referenced_by_digest(run_component) -> None:  # type: ignore[no-untyped-def]
    refs = []

    def program() -> None:
        image = ContainerImage("img", ContainerImageArgs(project="p-test", region="europe-west1",
                                                         source=BuildFromSource(context="/src/app", keep_recent=5)))
        refs.append(image.ref)

    run = run_component(program)
    repo = one(run, "gcp:artifactregistry/repository:Repository").inputs
    assert repo["format"] == "DOCKER" and repo["location"] == "europe-west1"
    policies = {p["id"]: p for p in repo["cleanupPolicies"]}
    assert policies["keep-recent"]["mostRecentVersions"]["keepCount"] == 5
    assert policies["delete-untagged"]["condition"]["tagState"] == "UNTAGGED"
    assert repo["dockerConfig"]["immutableTags"] is False  # services pin digests (stagewise/components/registry.py)
    build = one(run, "docker:index/image:Image").inputs
    assert build["imageName"].startswith("europe-west1-docker.pkg.dev/p-test/")
    assert build["build"]["dockerfile"] == "/src/app/Dockerfile"
    assert build["registry"]["username"] == "oauth2accesstoken"


def test_external_image_builds_nothing_but_keeps_the_stage_repository(run_component) -> None:  # type: ignore[no-untyped-def]
    # A stack first deployed in build mode, then by CI in external mode, must not lose the
    # repository (and the images older revisions run): same logical name in both modes.
    def program(source: BuildFromSource | ExternalImage) -> Callable[[], None]:
        return lambda: ContainerImage("img", ContainerImageArgs(project="p", region="us-central1", source=source)) and None

    external = run_component(program(ExternalImage("r/chat@sha256:1")))
    built = run_component(program(BuildFromSource(context="/src/app")))
    assert not external.of_type("docker:index/image:Image")
    repos = [r.urn for r in external.of_type("gcp:artifactregistry/repository:Repository")]
    assert repos and repos == [r.urn for r in built.of_type("gcp:artifactregistry/repository:Repository")]


def test_secrets_are_user_managed_in_configured_regions_and_hold_no_value(run_component) -> None:  # type: ignore[no-untyped-def]
    def program() -> None:
        SecretSet("s", SecretSetArgs(project="p", secret_ids=["a", "b", "a"], replica_locations=["us-central1", "us-east1"]))

    run = run_component(program)
    secrets = run.of_type("gcp:secretmanager/secret:Secret")
    assert sorted(s.inputs["secretId"] for s in secrets) == ["a", "b"]
    replicas = secrets[0].inputs["replication"]["userManaged"]["replicas"]
    assert [r["location"] for r in replicas] == ["us-central1", "us-east1"]
    assert not run.of_type("gcp:secretmanager/secretVersion:SecretVersion"), "secret values never live in the program"


def test_secret_set_needs_a_location(run_component) -> None:  # type: ignore[no-untyped-def]
    from stagewise.engine.record import ProgramError

    with pytest.raises(ProgramError, match="replica_locations"):
        run_component(lambda: SecretSet("s", SecretSetArgs(project="p", secret_ids=["a"], replica_locations=[])))


def test_apis_are_enabled_once_and_never_disabled_on_destroy(run_component) -> None:  # type: ignore[no-untyped-def]
    run = run_component(lambda: ProjectServices("apis", ProjectServicesArgs(project="p", services=["run.googleapis.com", "run.googleapis.com", "iam.googleapis.com"])))
    services = run.of_type("gcp:projects/service:Service")
    assert sorted(s.inputs["service"] for s in services) == ["iam.googleapis.com", "run.googleapis.com"]
    assert all(s.inputs["disableOnDestroy"] is False for s in services)


def test_error_metric_counts_errors_of_one_service(run_component) -> None:  # type: ignore[no-untyped-def]
    run = run_component(lambda: ErrorLogMetric("errs", ErrorLogMetricArgs(project="p", service_name="chat")))
    metric = one(run, "gcp:logging/metric:Metric").inputs
    assert 'resource.labels.service_name="chat"' in metric["filter"] and "severity>=ERROR" in metric["filter"]
    assert metric["metricDescriptor"]["metricKind"] == "DELTA"


@pytest.mark.parametrize("role", ["roles/owner", "roles/editor", "roles/viewer"])
def test_basic_roles_are_refused_with_the_fix(role: str) -> None:
    with pytest.raises(ValueError, match="predefined role"):
        check_role(role)


def test_role_names_must_look_like_roles() -> None:
    with pytest.raises(ValueError, match="roles/datastore.user"):
        check_role("datastore.user")
    assert check_role("roles/run.invoker") == "roles/run.invoker"


def test_grant_names_come_from_role_and_target_so_adding_one_renames_nothing(run_component) -> None:  # type: ignore[no-untyped-def]
    from stagewise.components.iam import BucketRole, ProjectRole, SecretRole, declare_grants

    def program(grants: list) -> None:  # type: ignore[type-arg]
        parent = ProjectServices("holder", ProjectServicesArgs(project="p"))
        declare_grants("sa", "serviceAccount:x@p.iam.gserviceaccount.com", grants, "p", parent)

    before = [ProjectRole("roles/logging.logWriter"), SecretRole("api-keys"), BucketRole("b-1", "roles/storage.objectUser", key="data")]
    after = [ProjectRole("roles/cloudtrace.agent"), *before, SecretRole("api-keys-2")]
    names_before = {r.name for r in run_component(lambda: program(before)).resources if r.custom}
    names_after = {r.name for r in run_component(lambda: program(after)).resources if r.custom}
    assert names_before == {"sa-logging-logWriter", "sa-secretmanager-secretAccessor-api-keys", "sa-storage-objectUser-data"}
    assert names_before < names_after
    twice = {r.name for r in run_component(lambda: program([ProjectRole("roles/run.invoker")] * 2)).resources if r.custom}
    assert twice == {"sa-run-invoker", "sa-run-invoker-2"}
