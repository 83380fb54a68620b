"""Container image references: a digest must be a real one.

An OCI digest is `algorithm:encoded`; for sha256 the encoded part is 64 lowercase hex characters
(https://raw.githubusercontent.com/opencontainers/image-spec/main/descriptor.md, "Digests": "the encoded portion
MUST match /[a-f0-9]{64}/"). An all-zero digest is a placeholder, not an image anyone built.
"""

from __future__ import annotations

import re

_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_NAME = re.compile(r"^[a-z0-9]+([._-]+[a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def check_image_ref(value: str) -> str:
    """``value`` if it is NAME[:TAG][@sha256:<64 hex>] with a real digest; else ValueError naming the fix."""
    name, at, digest = value.partition("@")
    if at:
        if not _DIGEST.match(digest):
            raise ValueError(f"{value!r}: a digest is sha256: followed by 64 lowercase hex characters "
                             "(`docker buildx imagetools inspect IMAGE` or `gcloud artifacts docker images describe IMAGE` shows it)")
        if set(digest.removeprefix("sha256:")) == {"0"}:
            raise ValueError(f"{value!r}: the all-zero digest is a placeholder; put the digest of the image you built")
    path, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    if not _NAME.match(path) or (tag and not _TAG.match(tag)):
        raise ValueError(f"{value!r} is not an image reference; write it like REGION-docker.pkg.dev/PROJECT/REPO/NAME@sha256:<digest>")
    return value
