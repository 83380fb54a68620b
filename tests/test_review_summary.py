"""The tree view's one-line key settings."""

from __future__ import annotations

from stagewise.review.summary import format_settings, key_settings


def test_generic_leaves_keep_their_parent_and_numbers_print_as_integers() -> None:
    bucket = {"location": "EU", "versioning": {"enabled": True}, "publicAccessPrevention": "enforced",
              "retentionPolicy": {"retentionPeriod": "86400"}}
    text = format_settings(key_settings("gcp:storage/bucket:Bucket", bucket))
    assert text == "location=EU publicAccessPrevention=enforced versioning.enabled=True retentionPeriod=86400"
    service = {"template": {"scaling": {"minInstanceCount": 0.0, "maxInstanceCount": 3.0}}}
    assert format_settings(key_settings("gcp:cloudrunv2/service:Service", service)) == "minInstanceCount=0 maxInstanceCount=3"


def test_unknown_types_and_missing_paths_show_nothing_and_long_values_are_cut() -> None:
    assert key_settings("gcp:unknown/thing:Thing", {"a": 1}) == {}
    metric = {"filter": "x" * 100}
    text = format_settings(key_settings("gcp:logging/metric:Metric", metric))
    assert text.startswith("filter=xxx") and text.endswith("...") and len(text) == len("filter=") + 60
