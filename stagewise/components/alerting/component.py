"""The Alerting component: notification channels, alert policies with runbooks, the uptime check,
the SLOs and the dashboard."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
from pulumi_gcp.monitoring import (
    AlertPolicyAlertStrategyArgs,
    AlertPolicyConditionArgs,
    AlertPolicyConditionConditionPrometheusQueryLanguageArgs,
    AlertPolicyConditionConditionThresholdArgs,
    AlertPolicyConditionConditionThresholdTriggerArgs,
    AlertPolicyDocumentationArgs,
    NotificationChannelSensitiveLabelsArgs,
    UptimeCheckConfigHttpCheckArgs,
    UptimeCheckConfigMonitoredResourceArgs,
)

from stagewise.components.alerting.args import AlertingArgs
from stagewise.components.alerting.dashboard import dashboard_json
from stagewise.components.alerting.signals import (
    Signal,
    aggregation,
    denominator_aggregation,
    inference_signals,
    service_signals,
    spend_signal,
    uptime_signal,
    usage_charts,
)
from stagewise.components.slo import ServiceSlos, ServiceSlosArgs


class Alerting(pulumi.ComponentResource):
    """Notification channels + alert policies (with runbooks) + uptime check + dashboard."""

    def __init__(self, name: str, args: AlertingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("stagewise:index:Alerting", name, None, opts)
        self._name = name
        self._args = args
        self.channels = self._channels()
        # A channel's name is projects/P/notificationChannels/ID, the form alert policies and budgets take.
        channel_ids = [channel.name for channel in self.channels]

        signals = service_signals(args)
        if args.inference is not None:
            signals += inference_signals(args.inference, args.thresholds)
        self.uptime_check: gcp.monitoring.UptimeCheckConfig | None = None
        if args.uptime_host:
            self.uptime_check = self._uptime(args.uptime_host)
            signals.append(uptime_signal(args, self.uptime_check.uptime_check_id))
        charts: list[Signal] = []
        if args.usage_metrics:
            charts = usage_charts(args.usage_metrics)
            if args.tenant_daily_spend_usd is not None:
                signals.append(spend_signal(args.usage_metrics, args.tenant_daily_spend_usd))

        self.policies: dict[str, gcp.monitoring.AlertPolicy] = {
            signal.key: self._policy(signal, channel_ids) for signal in signals
        }
        self.slos: ServiceSlos | None = None
        if args.slo is not None:
            self.slos = ServiceSlos(f"{name}-slo", ServiceSlosArgs(
                project=args.project, service_names=args.service_names, channel_ids=channel_ids, targets=args.slo,
                display_prefix=args.display_prefix, labels=args.labels,
            ), opts=pulumi.ResourceOptions(parent=self))
            self.policies.update(self.slos.policies)
        self.dashboard: gcp.monitoring.Dashboard | None = None
        if args.dashboard:
            self.dashboard = gcp.monitoring.Dashboard(
                f"{name}-dashboard",
                project=args.project,
                dashboard_json=dashboard_json(f"{args.display_prefix}: chat service", signals + charts),
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.channel_ids: list[pulumi.Output[str]] = channel_ids
        self.policy_names: dict[str, pulumi.Output[str]] = {key: p.name for key, p in self.policies.items()}
        self.register_outputs({"channel_ids": self.channel_ids, "policy_names": self.policy_names})

    def _channels(self) -> list[gcp.monitoring.NotificationChannel]:
        args = self._args
        child = pulumi.ResourceOptions(parent=self)
        channels = [
            gcp.monitoring.NotificationChannel(
                f"{self._name}-email-{index}",
                project=args.project,
                type="email",
                display_name=f"{args.display_prefix} on-call: {email}",
                labels={"email_address": email},
                user_labels=dict(args.labels),
                opts=child,
            )
            for index, email in enumerate(args.emails)
        ]
        if args.slack is not None:
            channels.append(
                gcp.monitoring.NotificationChannel(
                    f"{self._name}-slack",
                    project=args.project,
                    type="slack",
                    display_name=f"{args.display_prefix} Slack {args.slack.channel}",
                    labels={"channel_name": args.slack.channel},
                    sensitive_labels=NotificationChannelSensitiveLabelsArgs(
                        auth_token=self._secret_value(args.slack.auth_token_secret)
                    ),
                    user_labels=dict(args.labels),
                    opts=child,
                )
            )
        if args.pagerduty is not None:
            channels.append(
                gcp.monitoring.NotificationChannel(
                    f"{self._name}-pagerduty",
                    project=args.project,
                    type="pagerduty",
                    display_name=f"{args.display_prefix} PagerDuty",
                    sensitive_labels=NotificationChannelSensitiveLabelsArgs(
                        service_key=self._secret_value(args.pagerduty.service_key_secret)
                    ),
                    user_labels=dict(args.labels),
                    opts=child,
                )
            )
        return channels

    def _secret_value(self, secret_id: str) -> pulumi.Output[str]:
        """The secret's latest version, read at deploy time and kept a Pulumi secret (encrypted in state)."""
        version = gcp.secretmanager.get_secret_version_output(
            project=self._args.project, secret=secret_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        return pulumi.Output.secret(version.secret_data)

    def _uptime(self, host: str) -> gcp.monitoring.UptimeCheckConfig:
        args = self._args
        return gcp.monitoring.UptimeCheckConfig(
            f"{self._name}-uptime",
            project=args.project,
            display_name=f"{args.display_prefix}: https://{host}{args.uptime_path}",
            period=f"{args.uptime_period_sec}s",
            timeout="10s",
            checker_type="STATIC_IP_CHECKERS",
            http_check=UptimeCheckConfigHttpCheckArgs(
                path=args.uptime_path, port=443, use_ssl=True, validate_ssl=True, request_method="GET"
            ),
            monitored_resource=UptimeCheckConfigMonitoredResourceArgs(
                type="uptime_url", labels={"host": host, "project_id": args.project}
            ),
            user_labels=dict(args.labels),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _policy(self, signal: Signal, channel_ids: list[pulumi.Output[str]]) -> gcp.monitoring.AlertPolicy:
        args = self._args
        duration = f"{args.thresholds.duration_sec}s"
        if signal.promql is not None:
            condition = AlertPolicyConditionArgs(
                display_name=signal.title,
                condition_prometheus_query_language=AlertPolicyConditionConditionPrometheusQueryLanguageArgs(
                    query=signal.promql, duration=duration, evaluation_interval="60s"
                ),
            )
        else:
            condition = AlertPolicyConditionArgs(
                display_name=signal.title,
                condition_threshold=AlertPolicyConditionConditionThresholdArgs(
                    filter=signal.filter,
                    aggregations=[aggregation(signal)],
                    denominator_filter=signal.denominator,
                    denominator_aggregations=[denominator_aggregation(signal)] if signal.denominator else None,
                    comparison="COMPARISON_GT",
                    threshold_value=signal.threshold,
                    duration="60s" if signal.key == "uptime" else duration,
                    trigger=AlertPolicyConditionConditionThresholdTriggerArgs(count=1),
                    evaluation_missing_data="EVALUATION_MISSING_DATA_INACTIVE",
                ),
            )
        return gcp.monitoring.AlertPolicy(
            f"{self._name}-{signal.key}",
            project=args.project,
            display_name=f"{args.display_prefix}: {signal.title}",
            combiner="OR",
            severity=signal.severity,
            conditions=[condition],
            notification_channels=channel_ids,
            documentation=AlertPolicyDocumentationArgs(
                subject=f"[{signal.severity}] {args.display_prefix}: {signal.title}",
                content=signal.runbook,
                mime_type="text/markdown",
            ),
            alert_strategy=AlertPolicyAlertStrategyArgs(auto_close=f"{args.auto_close_days * 86_400}s"),
            user_labels=dict(args.labels),
            opts=pulumi.ResourceOptions(parent=self),
        )
