"""Provider-computed outputs that mocks must invent so dependent inputs resolve.

Only what our programs read from other resources is synthesized, shaped like the real
provider's values (e.g. a service account's email), so that downstream inputs look real.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any


_COLLECTIONS = {"ManagedSslCertificate": "sslCertificates", "RouterNat": "routers"}


def _collection(kind: str) -> str:
    """A Compute Engine collection name from a type name: SSLPolicy -> sslPolicies, URLMap -> urlMaps."""
    if kind in _COLLECTIONS:
        return _COLLECTIONS[kind]
    upper = len(kind) - len(kind.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    head = upper - 1 if upper > 1 else upper  # the capital that starts the next word stays
    camel = kind[:head].lower() + kind[head:]
    if camel.endswith("y") and camel[-2:-1] not in ("a", "e", "o", "u"):
        return camel[:-1] + "ies"
    if camel.endswith(("s", "x")):
        return camel + "es"
    return camel + "s"


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:10]


def synthesize_outputs(
    type_token: str, name: str, inputs: Mapping[str, Any], project: str, config: Mapping[str, str], generation: int = 1
) -> dict[str, Any]:
    region = str(inputs.get("location") or inputs.get("region") or config.get("gcp:region", "us-central1"))
    out: dict[str, Any] = {}
    resource_name = inputs.get("name") or name
    out["name"] = resource_name
    out["project"] = inputs.get("project") or project
    if type_token == "gcp:serviceaccount/account:Account":
        account_id = inputs.get("accountId", name)
        email = f"{account_id}@{project}.iam.gserviceaccount.com"
        out.update(email=email, member=f"serviceAccount:{email}", name=f"projects/{project}/serviceAccounts/{email}")
    elif type_token == "gcp:cloudrunv2/service:Service":
        out["uri"] = f"https://{resource_name}-{_short_hash(project, str(resource_name))}-{region[:2]}.a.run.app"
        out["urls"] = [out["uri"]]
        out["id"] = f"projects/{project}/locations/{region}/services/{resource_name}"
        # Cloud Run names revisions <service>-<5 digits>-<3 letters>; each deploy makes a new one.
        revision = f"{resource_name}-{generation:05d}-{_short_hash(project, str(resource_name), str(generation))[:3]}"
        out["latestReadyRevision"] = out["latestCreatedRevision"] = revision
    elif type_token == "gcp:storage/bucket:Bucket":
        out["url"] = f"gs://{resource_name}"
        out["selfLink"] = f"https://www.googleapis.com/storage/v1/b/{resource_name}"
    elif type_token == "gcp:artifactregistry/repository:Repository":
        repo_id = inputs.get("repositoryId", name)
        out["registryUri"] = f"{region}-docker.pkg.dev/{project}/{repo_id}"
        out["name"] = f"projects/{project}/locations/{region}/repositories/{repo_id}"
    elif type_token.startswith("docker:"):
        image = str(inputs.get("imageName") or inputs.get("tags", [name])[0])
        # Each deploy's build pushes new content: generation 2 (a second `pulumi up`) gets a new digest.
        seed = image if generation == 1 else f"{image}#{generation}"
        digest = "sha256:" + hashlib.sha256(seed.encode()).hexdigest()
        out["repoDigest"] = f"{image.split(':')[0]}@{digest}"
        out["imageName"] = image
    elif type_token == "gcp:secretmanager/secret:Secret":
        secret_id = inputs.get("secretId", name)
        out["name"] = out["id"] = f"projects/{project}/secrets/{secret_id}"
    elif type_token == "gcp:firestore/database:Database":
        out["name"] = inputs.get("name", "(default)")
    elif type_token.startswith("gcp:compute/"):
        # The provider's id and selfLink shapes: projects/P/(global|regions/R|zones/Z)/<kind>s/NAME.
        kind = type_token.split(":")[-1]
        for prefix in ("Region", "Global"):
            if kind.startswith(prefix) and kind != prefix:
                kind = kind[len(prefix):]
        collection = _collection(kind)
        if inputs.get("zone"):
            scope = f"zones/{inputs['zone']}"
        elif inputs.get("region") and not type_token.startswith("gcp:compute/global"):
            scope = f"regions/{inputs['region']}"
        else:
            scope = "global"
        out["id"] = f"projects/{project}/{scope}/{collection}/{resource_name}"
        out["selfLink"] = f"https://www.googleapis.com/compute/v1/{out['id']}"
        if type_token in ("gcp:compute/globalAddress:GlobalAddress", "gcp:compute/address:Address"):
            out["address"] = "203.0.113.10" if "global" in type_token.lower() else "10.10.0.10"
    elif type_token == "gcp:monitoring/notificationChannel:NotificationChannel":
        out["name"] = f"projects/{project}/notificationChannels/{_short_hash(name)}"
    elif type_token == "gcp:vertex/aiEndpoint:AiEndpoint" or type_token.startswith("gcp:vertex/"):
        out["name"] = f"projects/{project}/locations/{region}/endpoints/{int(_short_hash(name), 16) % 10**12}"
        # Model Garden deployments report the endpoint they created by its numeric id.
        out["endpoint"] = str(int(_short_hash(name), 16) % 10**12)
    elif type_token == "gcp:projects/iAMCustomRole:IAMCustomRole":
        out["name"] = f"projects/{project}/roles/{inputs.get('roleId', name)}"
    elif type_token == "gcp:projects/serviceIdentity:ServiceIdentity":
        agent = str(inputs.get("service", "")).split(".")[0]
        out["email"] = f"service-123456789012@gcp-sa-{agent}.iam.gserviceaccount.com"
        out["member"] = f"serviceAccount:{out['email']}"
    elif type_token == "gcp:logging/projectSink:ProjectSink":
        out["writerIdentity"] = f"serviceAccount:service-123456789012@gcp-sa-logging.iam.gserviceaccount.com"
    return out
