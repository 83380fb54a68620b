"""What runs on a self-hosted model server: vLLM's arguments, the COS boot script, the metrics collector.

Pure functions of the mode's settings, unit-tested without the engine.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from stagewise.components.inference.limits import COLLECTOR_IMAGE, PROMETHEUS_JOB

if TYPE_CHECKING:
    from stagewise.components.inference.modes import GpuVmPool


def vllm_args(model: str, served_name: str, port: int, max_model_len: int | None, gpus: int) -> list[str]:
    """Arguments of vLLM's OpenAI-compatible server for one model."""
    args = ["--model", model, "--served-model-name", served_name, "--host", "0.0.0.0", "--port", str(port)]
    if max_model_len:
        args += ["--max-model-len", str(max_model_len)]
    if gpus > 1:
        args += ["--tensor-parallel-size", str(gpus)]
    return args


COLLECTOR_DIR = "/mnt/stateful_partition/otelcol"


def collector_config(port: int, job: str = PROMETHEUS_JOB) -> str:
    """OpenTelemetry Collector config: scrape vLLM's /metrics on this VM into Managed Prometheus.

    The googlemanagedprometheus exporter writes the scrape job as the series' ``job`` label, which
    the gpu-vm alert queries select on (stagewise/components/alerting/signals.py).
    """
    return "\n".join([
        "receivers:",
        "  prometheus:",
        "    config:",
        "      scrape_configs:",
        f"        - job_name: {job}",
        "          scrape_interval: 30s",
        "          static_configs:",
        f"            - targets: ['localhost:{port}']",
        "processors:",
        "  resourcedetection:",
        "    detectors: [gcp]",
        "  batch: {}",
        "exporters:",
        "  googlemanagedprometheus: {}",
        "service:",
        "  pipelines:",
        "    metrics:",
        "      receivers: [prometheus]",
        "      processors: [resourcedetection, batch]",
        "      exporters: [googlemanagedprometheus]",
        "",
    ])


def startup_script(pool: GpuVmPool, served_name: str, project: str, job: str = PROMETHEUS_JOB) -> str:
    """Container-Optimized OS boot script: host firewall, GPU driver (if any), optional HF token, the
    vLLM container, and the metrics collector beside it. COS runs it on every boot."""
    gpus = 0 if pool.accelerator == "none" else pool.accelerator_count
    lines = ["#!/bin/bash", "set -euo pipefail"]
    # COS's host firewall accepts inbound SSH only; with --network host Docker opens nothing, so the
    # server port must be opened with iptables, on every boot since the rules do not persist
    # (https://cloud.google.com/container-optimized-os/docs/how-to/firewall). The VPC firewall
    # still limits who reaches it (callers' ranges and Google's health checkers).
    lines += [
        "# COS host firewall: admit the model server port (rules do not survive a reboot; this runs at each boot).",
        f"iptables -w -C INPUT -p tcp --dport {pool.port} -j ACCEPT 2>/dev/null || iptables -w -A INPUT -p tcp --dport {pool.port} -j ACCEPT",
    ]
    docker = ["docker", "run", "-d", "--name", "vllm", "--restart", "always", "--network", "host",
              "-v", "/mnt/stateful_partition/hf-cache:/root/.cache/huggingface"]
    if gpus:
        lines += [
            "# The NVIDIA driver COS ships for this kernel, made executable for containers.",
            "cos-extensions install gpu -- --version=latest",
            "mount --bind /var/lib/nvidia /var/lib/nvidia",
            "mount -o remount,exec /var/lib/nvidia",
        ]
        docker += ["-v", "/var/lib/nvidia/lib64:/usr/local/nvidia/lib64", "-v", "/var/lib/nvidia/bin:/usr/local/nvidia/bin",
                   "--device", "/dev/nvidia-uvm", "--device", "/dev/nvidiactl"]
        docker += [arg for index in range(gpus) for arg in ("--device", f"/dev/nvidia{index}")]
    else:
        docker += ["-e", "VLLM_CPU_KVCACHE_SPACE=4"]
    lines.append("mkdir -p /mnt/stateful_partition/hf-cache")
    if pool.hf_token_secret:
        # Read the token with the VM's own identity; it never appears in metadata or state.
        url = f"https://secretmanager.googleapis.com/v1/projects/{project}/secrets/{pool.hf_token_secret}/versions/latest:access"
        lines += [
            "TOKEN=$(curl -sf -H 'Metadata-Flavor: Google' "
            "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token "
            "| sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')",
            f"export HF_TOKEN=$(curl -sf -H \"Authorization: Bearer $TOKEN\" {shlex.quote(url)} "
            "| sed -E 's/.*\"data\": *\"([^\"]+)\".*/\\1/' | base64 -d)",
        ]
        docker += ["-e", "HF_TOKEN"]
    lines.append("docker rm -f vllm >/dev/null 2>&1 || true")
    command = docker + [pool.image] + vllm_args(pool.model, served_name, pool.port, pool.max_model_len, gpus)
    lines.append(" ".join(shlex.quote(part) for part in command))
    # vLLM's Prometheus metrics -> Managed Service for Prometheus, as the VM's own service account
    # (roles/monitoring.metricWriter). Scrapes localhost, so the host firewall needs no other port.
    lines += [
        "# Metrics: the OpenTelemetry Collector scrapes vLLM's /metrics for the alert policies.",
        f"mkdir -p {COLLECTOR_DIR}",
        f"cat > {COLLECTOR_DIR}/config.yaml <<'OTELCOL'",
        collector_config(pool.port, job).rstrip("\n"),
        "OTELCOL",
        "docker rm -f otelcol >/dev/null 2>&1 || true",
        " ".join(shlex.quote(part) for part in [
            "docker", "run", "-d", "--name", "otelcol", "--restart", "always", "--network", "host",
            "-v", f"{COLLECTOR_DIR}:/etc/otelcol-google:ro", COLLECTOR_IMAGE, "--config=/etc/otelcol-google/config.yaml",
        ]),
    ]
    return "\n".join(lines) + "\n"
