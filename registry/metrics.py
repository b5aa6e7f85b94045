"""Prometheus metrics of one application instance."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "modelyard_http_requests_total",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.bytes_in = Counter(
            "modelyard_http_received_bytes_total",
            "Request body bytes received.",
            registry=self.registry,
        )
        self.bytes_out = Counter(
            "modelyard_http_sent_bytes_total", "Response body bytes sent.", registry=self.registry
        )
        self.request_seconds = Histogram(
            "modelyard_http_request_duration_seconds",
            "Request duration by route.",
            ["route"],
            registry=self.registry,
        )
        self.upload_seconds = Histogram(
            "modelyard_blob_upload_duration_seconds",
            "Time to receive, verify and commit a blob upload.",
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
            registry=self.registry,
        )
        self.deliveries = Counter(
            "modelyard_webhook_deliveries_total",
            "Webhook delivery attempts by outcome: delivered, retry (failed, to be retried), "
            "dead (failed, the last attempt).",
            ["outcome"],
            registry=self.registry,
        )
