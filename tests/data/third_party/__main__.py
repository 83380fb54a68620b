"""A team's own Pulumi program: stagewise's components, not its stacks."""

import pulumi

from stagewise.components import (BucketSet, BucketSetArgs, BucketSpec, ChatService, ChatServiceArgs,
                                  ProjectServices, ProjectServicesArgs)

project = pulumi.Config("gcp").require("project")
labels = {"env": "mvp", "owner": "acme-chat", "cost-center": "rnd"}

apis = ProjectServices("apis", ProjectServicesArgs(project=project, services=[
    "run.googleapis.com", "iam.googleapis.com", "storage.googleapis.com"]))
files = BucketSet("files", BucketSetArgs(project=project, labels=labels, buckets={
    "data": BucketSpec(bucket_class="data", location="EU")}),
    # A child waits for what its component depends on, so the buckets wait for the API.
    opts=pulumi.ResourceOptions(depends_on=apis.ready))
chat = ChatService("chat", ChatServiceArgs(
    project=project,
    region="europe-west1",
    # Google's sample image, pinned by digest: a registry the project does not have to create.
    image="us-docker.pkg.dev/cloudrun/container/hello@sha256:" + "5" * 64,
    labels=labels,
    depends_on=apis.ready,
))
pulumi.export("url", chat.uri)
