"""Issue 14, items 10 and 11: a gpu-vm model server on Container-Optimized OS serves, and its alerts can fire."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from conftest import one

from stagewise.components.alerting import Alerting, AlertingArgs, InferenceSignals
from stagewise.components.inference import (
    COLLECTOR_IMAGE,
    PROMETHEUS_JOB,
    GpuVmPool,
    PrivateNetwork,
    collector_config,
    startup_script,
)
from stagewise.engine.record import ProgramRun

NETWORK = PrivateNetwork(
    network="projects/stagewise-test/global/networks/chat-vpc",
    subnetwork="projects/stagewise-test/regions/us-central1/subnetworks/chat-vpc-us-central1",
    client_ranges=("10.10.0.0/24",),
)


def script_for(**kwargs: Any) -> list[str]:
    pool = GpuVmPool(model="Qwen/Qwen2.5-0.5B-Instruct", region="us-central1", network=NETWORK, **kwargs)
    return startup_script(pool, "qwen", "stagewise-test").splitlines()


def test_cos_host_firewall_admits_the_server_port_before_vllm_starts() -> None:
    # COS accepts only SSH inbound; vLLM runs with --network host, so Docker opens nothing itself.
    for kwargs in ({}, {"accelerator": "none"}, {"port": 9000}):
        lines = script_for(**kwargs)
        port = kwargs.get("port", 8000)
        rule = next(index for index, line in enumerate(lines) if f"iptables -w -A INPUT -p tcp --dport {port} -j ACCEPT" in line)
        vllm = next(index for index, line in enumerate(lines) if line.startswith("docker run") and "--name vllm" in line)
        assert rule < vllm, kwargs
        assert "--network host" in lines[vllm] and f"--port {port}" in lines[vllm]
        # Idempotent: a second run of the boot script does not stack duplicate rules.
        assert f"iptables -w -C INPUT -p tcp --dport {port} -j ACCEPT" in lines[rule]


def test_a_collector_scrapes_vllm_into_managed_prometheus_on_every_vm() -> None:
    lines = script_for(port=9000)
    collector = next(line for line in lines if line.startswith("docker run") and "--name otelcol" in line)
    assert COLLECTOR_IMAGE in collector and "--restart always" in collector and "--network host" in collector
    script = "\n".join(lines)
    assert collector_config(9000) in script + "\n"
    config = collector_config(9000)
    assert f"job_name: {PROMETHEUS_JOB}" in config and "targets: ['localhost:9000']" in config
    assert "googlemanagedprometheus" in config and "exporters: [googlemanagedprometheus]" in config


def test_gpu_vm_alerts_query_only_what_the_collector_writes(run_component: Callable[..., ProgramRun]) -> None:
    def program() -> None:
        Alerting("alerting", AlertingArgs(project="stagewise-test", service_names=["chat"], max_instances=4,
                                          emails=["oncall@acme-corp.dev"], inference=InferenceSignals("gpu-vm", "inference-vm")))

    run = run_component(program)
    policies = {r.name.removeprefix("alerting-"): r.inputs for r in run.of_type("gcp:monitoring/alertPolicy:AlertPolicy")}
    inference = {key: policy for key, policy in policies.items() if key.startswith("inference-")}
    assert set(inference) == {"inference-errors", "inference-latency", "inference-saturation"}
    for key, policy in inference.items():
        text = json.dumps(policy["conditions"])
        # No Ops Agent runs on COS: nothing may read agent.googleapis.com metrics.
        assert "agent.googleapis.com" not in text, key
        query = policy["conditions"][0]["conditionPrometheusQueryLanguage"]["query"]
        # Each pool's collector scrapes under the pool's VM name prefix: the alerts select only its series.
        assert 'job="inference-vm"' in query and "vllm:" in query, key
    dashboard = json.loads(one(run, "gcp:monitoring/dashboard:Dashboard").inputs["dashboardJson"])
    assert "agent.googleapis.com" not in json.dumps(dashboard)
