"""Hours and volumes that follow the traffic, each against a hand calculation written here.

The scale-to-zero model (stagewise/cost/traffic.py): requests arrive evenly within W = active
hours a day × 3600 × 365/12 s at λ = R / W; the server is up when a request arrived within the last
H = idle timeout + hold seconds, P(up) = 1 − e^(−λH); R·e^(−λH) arrivals find it down and start it
(cold_start_s each); instance-seconds = max(W·P(up) + starts × cold start, R × hold / concurrency).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import pytest

from stack_values import run_with_values
from stagewise.cost.estimate import estimate_run
from stagewise.cost.model import Estimate, LineItem
from stagewise.engine.record import ProgramRun, run_stack

DAYS = 365 / 12
GPU_PER_SECOND = 0.0001867  # cloud_run.gpu_l4_no_zonal_redundancy (no free tier)


@lru_cache(maxsize=None)
def prod() -> ProgramRun:
    return run_with_values("prod")


def line(result: Estimate, name: str) -> LineItem:
    return next(l for l in result.lines if l.name == name)


def cost_of(item: LineItem, label: str) -> float:
    return next(c.cost for c in item.charges if c.item == label)


def prod_gpu_hours(requests: float) -> float:
    """Hand calculation of prod's GPU service hours at `requests` a month (usage/prod.yml figures).

    Both regional chat services send their calls to the model server first (it starts on demand,
    so it is always available); 2 % fail over to Gemini: the server answers 0.98 R.
    """
    served = 0.98 * requests
    if served == 0:
        return 0.0
    window = 16 * 3600 * DAYS
    rate = served / window
    held = 900 + 6
    up = 1 - math.exp(-rate * held)
    starts = served * math.exp(-rate * held)
    single = window * up + starts * 120
    load = served * 6 / 16  # concurrency 16 (stagewise:inference.concurrency default)
    return max(single, load) / 3600


@pytest.mark.parametrize("requests", [0, 3_000, 300_000, 900_000])
def test_prod_gpu_line_follows_the_hours_the_traffic_implies(requests: int) -> None:
    result = estimate_run(prod(), {"requests_per_month": requests})
    gpu = cost_of(line(result, "inference"), "1 × NVIDIA L4 GPU")
    assert gpu == pytest.approx(prod_gpu_hours(requests) * 3600 * GPU_PER_SECOND, rel=0.001, abs=0.01)


def test_prod_at_zero_and_three_times_the_traffic_moves_the_gpu_line_in_proportion_to_its_hours() -> None:
    zero, base, triple = (estimate_run(prod(), {"requests_per_month": r}) for r in (0, 300_000, 900_000))
    gpu = [cost_of(line(r, "inference"), "1 × NVIDIA L4 GPU") for r in (zero, base, triple)]
    assert gpu[0] == 0  # scaled to zero with no traffic: no GPU hour at all
    assert gpu[2] / gpu[1] == pytest.approx(prod_gpu_hours(900_000) / prod_gpu_hours(300_000), rel=0.001)
    # the whole inference line (CPU + memory + GPU) is 0 at 0 requests, less the CPU/memory free tier
    assert line(zero, "inference").monthly == 0
    # at the shipped traffic the server is busy the whole 16-hour window: 486.7 h, $327.12 of GPU
    assert gpu[1] == pytest.approx(16 * DAYS * 3600 * GPU_PER_SECOND, rel=0.001)
    # sparse traffic (3,000 requests, ~99 a day) leaves idle gaps longer than the 15-minute timeout
    sparse = estimate_run(prod(), {"requests_per_month": 3_000})
    assert cost_of(line(sparse, "inference"), "1 × NVIDIA L4 GPU") < gpu[1]


def test_requests_by_service_splits_the_traffic_100k_app_50k_partners() -> None:
    result = estimate_run(run_with_values("staging"), {"requests_by_service": {"chat": 100_000, "chat-partners": 50_000}})
    chat, partners = line(result, "chat"), line(result, "partners")
    assert next(c.quantity for c in chat.charges if c.item == "requests") == 100_000
    assert next(c.quantity for c in partners.charges if c.item == "requests") == 50_000
    # tokens follow: the chat service's primary Gemini answers 98 % of its 100,000 calls
    flash = line(result, "chat → gemini-3.1-flash-lite")
    assert flash.monthly == pytest.approx(100_000 * 0.98 * (1000 * 0.25 + 300 * 1.50) / 1e6, rel=0.001)  # 68.60


def test_the_daily_firestore_export_reads_every_document() -> None:
    result = estimate_run(prod())
    export = line(result, "firestore-export-job")
    documents = 5 * 2**20 / 4  # 5 GiB of 4 KiB documents = 1,310,720
    reads = documents * 365 / 12  # '0 3 * * *': every day
    assert cost_of(export, "export document reads") == pytest.approx(reads * 0.06 / 100_000, rel=0.001)  # 23.92


def test_exports_grow_the_retention_locked_backups_bucket_until_the_month_described() -> None:
    result = estimate_run(prod())
    backups = line(result, "buckets-backups")
    size = 5 * 0.5 * 365  # 2.5 GiB an export, one a day, none deleted yet in month 12 = 912.5 GiB
    storage = next(c for c in backups.charges if c.item == "standard storage")
    assert storage.quantity == pytest.approx(size, rel=0.001)
    later = estimate_run(prod(), {"months_in_operation": 24})
    # the bucket's lifecycle deletes copies after 366 days: growth stops there
    assert next(c.quantity for c in line(later, "buckets-backups").charges if c.item == "standard storage") == pytest.approx(2.5 * 366)


def test_logs_and_nat_volume_follow_the_request_count() -> None:
    base = estimate_run(prod())
    triple = estimate_run(prod(), {"requests_per_month": 900_000})
    logs = [next(c.quantity for c in line(r, "project logs").charges) for r in (base, triple)]
    assert logs == pytest.approx([28 + 300_000 * 8 / 2**20, 28 + 900_000 * 8 / 2**20])  # 30.29, 34.87 GiB
    nat = [next(c.quantity for c in line(r, "vpc-nat-us-central1").charges if c.item == "data processed") for r in (base, triple)]
    assert nat == pytest.approx([(40 + 300_000 * 32 / 2**20) / 2, (40 + 900_000 * 32 / 2**20) / 2])  # 24.58, 33.73 GiB


def test_a_dotted_config_override_reaches_the_estimate() -> None:
    run = run_stack("mvp", overrides={"stagewise:usage.requestsPerMonth": "30000", "stagewise:budget.monthlyUsd": "42"})
    result = estimate_run(run)
    assert result.usage.requests_per_month == 30_000
    assert result.budget_usd == 42


def test_the_usage_file_is_read_and_the_stack_config_overrides_it() -> None:
    assert estimate_run(prod()).usage.active_hours_per_day == 16  # usage/prod.yml
    run = run_stack("mvp", overrides={"stagewise:usage": json.dumps({"activeHoursPerDay": 6})})
    assert estimate_run(run).usage.active_hours_per_day == 6


def test_resource_usage_in_a_usage_file_names_a_services_requests(tmp_path: pytest.TempPathFactory) -> None:
    from pathlib import Path

    from stagewise.cost.usage_file import UsageFileError, usage_file_for

    directory = Path(str(tmp_path))
    (directory / "staging.yml").write_text("version: 0.1\nusage:\n  requestsPerMonth: 1000\n"
                                           "resource_usage:\n  chat-partners:\n    requestsPerMonth: 50000\n")
    assert usage_file_for("staging", "staging", directory) == {"requestsPerMonth": 1000, "requestsByService": {"chat-partners": 50000}}
    (directory / "staging.yml").write_text("version: 0.1\nresource_usage:\n  chat:\n    gpuHours: 3\n")
    with pytest.raises(UsageFileError, match="resource_usage.chat"):
        usage_file_for("staging", "staging", directory)
    (directory / "staging.yml").write_text("usage: {}\n")
    with pytest.raises(UsageFileError, match="version must be 0.1"):
        usage_file_for("staging", "staging", directory)


def test_every_usage_file_states_every_figure() -> None:
    from dataclasses import fields

    from pydantic.alias_generators import to_camel

    from stagewise.stacks.config.usage import UsageProfile
    from stagewise.cost.usage_file import USAGE_DIR

    for stage in ("mvp", "staging", "prod"):
        text = (USAGE_DIR / f"{stage}.yml").read_text()
        missing = [f.name for f in fields(UsageProfile) if f"{to_camel(f.name)}:" not in text]
        assert missing == [], (stage, missing)


def test_usage_file_comes_from_the_reviewed_project_not_this_checkout(tmp_path: Path) -> None:
    """Another team's project keeps its own usage/<stack>.yml (or usage/<stage>.yml) beside its
    Pulumi.yaml; without one it gets the stage's defaults, never this checkout's files."""
    import shutil

    from stagewise.cost.estimate import usage_for

    project = tmp_path / "acme"
    shutil.copytree(Path(__file__).parent / "data" / "third_party", project)
    bare = usage_for(run_stack("dev", root=project))
    (project / "usage").mkdir()
    (project / "usage" / "mvp.yml").write_text("version: 0.1\nusage:\n  requestsPerMonth: 12345\n")
    assert usage_for(run_stack("dev", root=project)).requests_per_month == 12345
    (project / "usage" / "dev.yml").write_text("version: 0.1\nusage:\n  requestsPerMonth: 777\n")
    assert usage_for(run_stack("dev", root=project)).requests_per_month == 777
    assert bare.requests_per_month not in (12345, 777)
