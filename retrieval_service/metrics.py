"""Prometheus metrics, one registry per app (tests run several apps in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram("rarft_request_latency_seconds", "latency of every response, by route template, status "
                                 "and serving version ('' where no version answered)", ["route", "status", "version"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.queries = Counter("rarft_queries_served", "queries answered, by version", ["version"], registry=self.registry)
        self.errors = Counter("rarft_errors", "responses with a status >= 400, by route template and status", ["route", "status"], registry=self.registry)
        self.swaps = Counter("rarft_swaps", "changes of the effective traffic split", registry=self.registry)
        self.loads = Counter("rarft_version_loads", "version load attempts by outcome", ["outcome"], registry=self.registry)
        self.index_size = Gauge("rarft_index_size", "vectors in the index of each loaded version", ["version"], registry=self.registry)
        self.version_bytes = Gauge("rarft_version_estimated_bytes", "estimated resident bytes of each loaded version",
                                   ["version"], registry=self.registry)
        self.generation = Gauge("rarft_deployment_generation", "generation of the registry deployment this replica serves",
                                registry=self.registry)
        self.sync_failures = Counter("rarft_sync_failures", "registry deployments this replica could not apply (old one kept)",
                                     registry=self.registry)
        self.batch_size = Histogram("rarft_batch_queries", "queries per merged encode+search batch",
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024), registry=self.registry)
