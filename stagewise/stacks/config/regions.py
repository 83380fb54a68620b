"""Google Cloud regions, to catch a typo in `gcp:region` before anything is declared.

Source: https://cloud.google.com/about/locations (read 2026-11-23).
"""

from __future__ import annotations

GCP_REGIONS: frozenset[str] = frozenset(
    {
        "africa-south1",
        "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3",
        "asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2", "asia-southeast3",
        "australia-southeast1", "australia-southeast2",
        "europe-central2", "europe-north1", "europe-north2", "europe-southwest1",
        "europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6",
        "europe-west8", "europe-west9", "europe-west10", "europe-west12",
        "me-central1", "me-central2", "me-west1",
        "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1",
        "southamerica-east1", "southamerica-west1",
        "us-central1", "us-east1", "us-east4", "us-east5", "us-south1",
        "us-west1", "us-west2", "us-west3", "us-west4",
    }
)

# Firestore multi-region locations; a single region is also accepted.
FIRESTORE_MULTI_REGIONS: frozenset[str] = frozenset({"nam5", "eur3"})

# Cloud Storage multi- and dual-regions; single regions are also accepted.
STORAGE_MULTI_REGIONS: frozenset[str] = frozenset({"US", "EU", "ASIA", "NAM4", "EUR4", "ASIA1", "EUR5", "EUR7", "EUR8"})


def check_region(value: str) -> str:
    if value not in GCP_REGIONS:
        raise ValueError(
            f"{value!r} is not a Google Cloud region; use one such as us-central1 or europe-west1 "
            "(see https://cloud.google.com/about/locations)"
        )
    return value
