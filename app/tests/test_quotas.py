"""Quotas in one process (the MVP's memory backend) and their settings."""

from __future__ import annotations

import asyncio

import pytest

from chatapp.logs import JsonLog
from chatapp.quotas import MemoryBackend, Quotas, TenantQuota, parse_quotas
from chatapp.settings import Settings


def test_memory_backend_admits_exactly_the_limit_and_charges_budgets() -> None:
    async def run() -> tuple[int, str | None, str | None]:
        q = Quotas(TenantQuota(rpm=7), {"big": TenantQuota(daily_tokens=100)}, MemoryBackend(), sync_s=0.05)
        await q.start()
        try:
            admitted = 0
            for _ in range(20):
                if await q.admit("small") is None:
                    admitted += 1
            assert await q.admit("big") is None
            q.charge("big", 100, 0)
            refusal = await q.admit("big")
            other = await q.admit("small")
            return admitted, refusal.code if refusal else None, other.code if other else None
        finally:
            await q.close()

    admitted, big, small = asyncio.run(run())
    assert admitted == 7
    assert big == "daily_token_budget_exceeded"
    assert small == "rate_limit_exceeded"


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"CHAT_TENANT_QUOTAS": "[1]"}, "CHAT_TENANT_QUOTAS='[1]' must be JSON"),
        ({"CHAT_TENANT_QUOTAS": "{acme"}, "CHAT_TENANT_QUOTAS='{acme' must be JSON"),
        ({"CHAT_TENANT_QUOTAS": '{"acme": {"rps": 1}}'}, "unknown quota 'rps'"),
        ({"CHAT_TENANT_QUOTAS": '{"acme": {"daily_usd": -1}}'}, "daily_usd must be a number >= 0"),
        ({"CHAT_QUOTA_BACKEND": "redis", "CHAT_TENANT_RPM": "5"}, "CHAT_QUOTA_BACKEND='redis' is unknown"),
        ({"CHAT_QUOTA_BACKEND": "firestore", "CHAT_TENANT_RPM": "5"}, "needs GOOGLE_CLOUD_PROJECT"),
        ({"CHAT_TENANT_RPM": "many"}, "CHAT_TENANT_RPM='many' is not an integer"),
        ({"CHAT_TENANT_DAILY_USD": "-2"}, "CHAT_TENANT_DAILY_USD='-2' is below the minimum 0"),
        ({"CHAT_QUOTA_WINDOW_S": "0.5", "CHAT_TENANT_RPM": "5"}, "CHAT_QUOTA_WINDOW_S='0.5' is below the minimum 1"),
    ],
)
def test_bad_quota_settings_name_the_variable(env: dict[str, str], needle: str) -> None:
    problems: list[str] = []
    assert parse_quotas(env, Settings(), JsonLog(), problems) is None
    assert any(needle in p for p in problems), problems


def test_no_quota_set_means_no_quotas() -> None:
    problems: list[str] = []
    assert parse_quotas({}, Settings(), JsonLog(), problems) is None and problems == []
    quotas = parse_quotas({"CHAT_TENANT_DAILY_USD": "2.5", "CHAT_TENANT_QUOTAS": '{"acme": {"rpm": 3}}'},
                          Settings(), JsonLog(), problems)
    assert problems == [] and quotas is not None and quotas.default.daily_nanos == 2_500_000_000
    assert quotas.overrides["acme"] == TenantQuota(rpm=3, daily_nanos=2_500_000_000)  # on top of the default
