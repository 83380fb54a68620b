"""Every stack at its shipped usage (usage/<stack>.yml + examples/values): each priced line against a
hand calculation from the stored prices, within 5 % (the issue's acceptance bar).

Figures: 300,000 requests a month over two regional chat services (150,000 each), 16 active hours a
day (486.67 h a month), 1,000 in / 300 out tokens, fallback share 2 %, 5 GiB in Firestore.
"""

from __future__ import annotations

import pytest

from stack_values import run_with_values
from stagewise.cost.estimate import estimate_run

HOURS, DAYS = 730, 365 / 12
GPU_S = 16 * DAYS * 3600  # the GPU service is up the whole active window at this traffic: 1,752,000 s
ALERT = 1.5 + HOURS * 60 * 0.35e-6  # a condition + one series evaluated every 60 s
NAT_GB = (40 + 300_000 * 32 / 2**20) / 2  # nat_gb + 32 KiB a request, split over 2 gateways

HAND = {
    # 8 vCPU, 32 GiB, 1 L4 for 1,752,000 s, less the CPU (240,000 vCPU-s) and memory (450,000 GiB-s) free tier
    "inference": (GPU_S * 8 - 240_000) * 0.000018 + (GPU_S * 32 - 450_000) * 0.000002 + GPU_S * 0.0001867,  # 686.29
    # the daily export reads 5 GiB / 4 KiB = 1,310,720 documents, 30.42 times a month, $0.06 per 100,000
    "firestore-export-job": 5 * 2**20 / 4 * DAYS * 0.06 / 100_000,  # 23.92 (the job itself is in the free 3)
    "edge-http": HOURS * 0.025,  # the flat charge for the first 5 forwarding rules; edge-https is covered by it
    # 2.5 GiB an export × 365 exports kept, less 5 GiB free; 10,000 class A ops less 5,000 free
    "buckets-backups": (2.5 * 365 - 5) * 0.02 + 5_000 * 0.000005,  # 18.18
    "edge-armor": 5 + 11 * 1 + 300_000 * 0.75 / 1e6,  # policy + 11 rules + requests: 16.23
    # one warm 1 vCPU / 1 GiB instance idle all month but for 75,000 s of serving (inside the free tier)
    "chat-us-central1": (HOURS * 3600 - 75_000) * (0.0000025 + 0.0000025),  # 12.77
    "chat-europe-west1": (HOURS * 3600 - 75_000) * (0.0000025 + 0.0000025),
    "vpc-nat-us-central1": NAT_GB * 0.045 + HOURS * 0.005,  # 4.76
    "vpc-nat-europe-west1": NAT_GB * 0.045 + HOURS * 0.005,
    "firestore-daily-backup": 30 * 5 * 0.03,  # 30 daily backups of 5 GiB: 4.50
    "firestore": ((1_800_000 - 50_000 * DAYS) * 0.06 + (900_000 - 20_000 * DAYS) * 0.18 + 600_000 * 0.02) / 100_000
                 + (5 - 1) * 0.18 + 5 * 0.18,  # reads, writes, TTL deletes, storage, PITR: 2.43
    # 2 % of each service's 150,000 calls fail over from the GPU server to Gemini 3.1 Flash-Lite
    "chat-us-central1 → gemini-3.1-flash-lite": 3_000 * (1000 * 0.25 + 300 * 1.50) / 1e6,  # 2.10
    "chat-europe-west1 → gemini-3.1-flash-lite": 3_000 * (1000 * 0.25 + 300 * 1.50) / 1e6,
    "internet egress": (15 - 1) * 0.12,  # 1.68
    **{f"alerting-{name}": ALERT for name in ("error-ratio", "gpu-utilization", "inference-errors", "inference-latency",
                                             "instances-near-max", "latency-p95", "uptime", "tenant-spend")},
    # each SLO's burn-rate alert has two conditions (1 h at 14.4×, 6 h at 6×), one series each
    **{f"alerting-slo-{name}-burn": 2 * ALERT for name in ("availability", "latency")},
    "vpc-us-central1": 5 * 0.25, "vpc-europe-west1": 5 * 0.25,  # flow logs
    "buckets-logs": 30 * 0.02 + 10_000 * 0.000005 + 50_000 * 0.0000004,  # 0.67
    "buckets-data": 10 * 0.02 + 10_000 * 0.000005 + 50_000 * 0.0000004,  # 0.27 (the free tier went to backups)
    "secrets-chat-api-keys": (100_000 - 10_000) * 0.03 / 10_000,  # 0.27
    "inference-dockerhub": 2.5 * 0.10, "image-repo": (2.5 - 0.5) * 0.10,
    "edge-https": (6 + 15) * 0.008,  # load balancer data processing: 0.17
    # Model Armor at $0.10 per M tokens past 2 M free: 300,000 prompts of ≤ 1,000 tokens, and each 300-token
    # answer screened in block mode at every 400 characters (100 tokens) accumulated and at its end:
    # 100 + 200 + 300 + 300 = 900 tokens a streamed answer: 56.80
    "guardrails-template": (300_000 * (1000 + 900) - 2_000_000) * 0.10 / 1e6,
}


def test_every_priced_prod_line_is_within_5_percent_of_its_hand_calculation() -> None:
    result = estimate_run(run_with_values("prod"))
    lines = {l.name: l.monthly for l in result.lines if l.status == "priced" and l.monthly >= 0.005}
    assert set(lines) == set(HAND), (sorted(set(lines) - set(HAND)), sorted(set(HAND) - set(lines)))
    for name, hand in HAND.items():
        assert lines[name] == pytest.approx(hand, rel=0.05), name
    assert result.total == pytest.approx(sum(HAND.values()), rel=0.05)


VM_H = 10 * 5 / 7 * DAYS  # the test VM's weekday 10-hour window: 217.26 h
VM_SHARE = VM_H / HOURS * 0.98  # partner calls the test VM answers (it runs 29.8 % of the month)

STAGING = {
    "test-inference-ilb": HOURS * 0.025,  # the region's only forwarding rule pays the flat first-5 charge
    "chat → gemini-3.1-flash-lite": 25_000 * 0.98 * 0.0007,  # $0.25 / $1.50 per M at 1,000 / 300 tokens: 17.15
    "test-inference-mig": VM_H * 0.0556 + 50 * 0.10 * VM_H / HOURS,  # n2-standard-4 Spot + its 50 GiB disk: 13.57
    "partners → gemini-3.1-flash-lite": 25_000 * (1 - VM_SHARE) * 0.98 * 0.0007,  # 12.15
    "vpc-nat-us-central1": VM_H * 0.0014 + 20 * 0.045 + HOURS * 0.005,  # 4.85
    "chat → gemini-3.5-flash": 25_000 * 0.02 * (1000 * 1.50 + 300 * 9.00) / 1e6,  # 2.10
    "partners → gemini-3.5-flash": 25_000 * (1 - VM_SHARE) * 0.02 * (1000 * 1.50 + 300 * 9.00) / 1e6,  # 1.49
    "image-repo": (3 - 0.5) * 0.10, "vpc-us-central1": 1 * 0.25, "internet egress": (3 - 1) * 0.12,
    "buckets-data": 10_000 * 0.000005 + 50_000 * 0.0000004,  # 0.07 (storage inside the free 5 GiB)
    "buckets-analytics": 5_000 * 0.000005,
    "firestore": 100_000 * 0.02 / 100_000,  # TTL deletes only: reads, writes, storage inside the free tier
    "secrets-partner-globex-api-key": 20_000 / 3 * 0.03 / 10_000,
    "secrets-partner-acme-api-key": (20_000 / 3 - 10_000 / 3) * 0.03 / 10_000,
    # inspect-only screening: 50,000 prompts of ≤ 1,000 tokens and 50,000 answers of 300, once each: 6.30
    "guardrails-template": (50_000 * (1000 + 300) - 2_000_000) * 0.10 / 1e6,
}

MVP = {
    "chat → gemini-3.1-flash-lite": 10_000 * 0.0007,  # no fallback in the MVP: 7.00
    "image-repo": (1 - 0.5) * 0.10,
    "buckets-data": 5_000 * 0.000005,
}


@pytest.mark.parametrize("stack, hand", [("staging", STAGING), ("mvp", MVP)])
def test_every_priced_line_of_staging_and_mvp_is_within_5_percent(stack: str, hand: dict[str, float]) -> None:
    from stagewise.engine.record import run_stack

    result = estimate_run(run_with_values(stack) if stack != "mvp" else run_stack("mvp"))
    lines = {l.name: l.monthly for l in result.lines if l.status == "priced" and l.monthly >= 0.005}
    assert set(lines) == set(hand), (sorted(set(lines) - set(hand)), sorted(set(hand) - set(lines)))
    for name, value in hand.items():
        assert lines[name] == pytest.approx(value, rel=0.05), name
