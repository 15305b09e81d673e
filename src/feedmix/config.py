"""One configuration object, loadable from TOML, whose defaults run the demo out of the box.

[server]    host, port, workers (pipeline thread pool), shed_target_ms (load shedding: the pipeline p90
            above which sources get smaller candidate budgets; 0: never shed), grpc_port (the ranking
            service for internal callers, proto/feedmix/v1/ranking.proto; 0: off, the default)
[data]      posts = "demo" | "full" | a path;  now = corpus clock override (unix seconds)
[users]     count, seed  (the simulated population the server knows)
[stores]    event_log, seen, sessions, preferences, features  (URLs: sqlite:///..., memory://, redis://...)
[features]  flush_interval_s (aggregates -> online store), log_sample_rate (served-feature log),
            log_dir (default: <state_dir>/feature_log), offline_dir (history of every aggregate
            write, for point-in-time training sets; default <state_dir>/offline_features; "off": none),
            replay_window_s (at startup, re-apply the log's events of this many seconds to the
            aggregates; 0: start empty), aggregates ("inline": each server counts the events it
            ingests, right for one server; "workers": servers only log events and
            `feedmix features aggregate-worker` processes count them in Redis at aggregates_url)
[retrieval] index_dir (default: $FEEDMIX_INDEX_DIR or <state_dir>/index), build_on_start (build the
            content index at startup when it is missing), build_kind ("auto": exact up to 50k posts),
            watch_interval_s (poll for new builds; 0: only POST /v1/admin/index/reload), shards (search
            the content index on shard servers, `feedmix index shard-serve`: "a0,a0b;a1" lists each
            shard's replica addresses, shards separated by ";"; empty: in process)
[ranking]   registry_dir (default: <state_dir>/models), watch_interval_s (poll for a newly promoted
            ranker and swap it in; 0: only at startup), runtime ("native": LightGBM; "compiled":
            lleaves where it agrees and is faster, compiled when a version loads, then cached)
[ads]       store (campaign store URL; default sqlite:///<state_dir>/ads.db, or postgresql://...),
            assets_dir (default <state_dir>/assets), enabled (blend ads into the home feed),
            counters / frequency / dedup (spend counters, frequency caps, tracking-event dedup:
            memory:// or redis://; several serving processes must share Redis), refresh_interval_s
            (re-read campaigns when they change); the admin token that creates advertisers is read
            from $FEEDMIX_ADS_ADMIN_TOKEN, never from a file in the repository
[experiments] enabled (assign requests to running experiments and log exposures), store (experiment
            store URL; default sqlite:///<state_dir>/experiments.db, or postgresql://...), exposure_log
            (an event-log URL; default sqlite:///<state_dir>/exposures.db), refresh_interval_s (how
            often a serving process checks the store for starts, stops and ramps); the operator key
            of the experiments API is read from $FEEDMIX_OPERATOR_KEY
[signals]   enabled (POST /v1/posts and the streaming labeller), posts_log (an event-log URL; default
            sqlite:///<state_dir>/posts.db), tier (the production tier labelling new posts: "student",
            falling back to "rules" while no student is trained), refine ("teacher": a second, slower
            pass that refines the values; "": none, the default), corpus (the served corpus' signals for
            brand safety and contextual ads: "archive" reads a backfill of the production tier, the
            default; "label" also labels the corpus in the background when no archive covers it, as
            `feedmix demo` does; "off")
[cache]     url (shareable work such as the trending list: "memory://" in-process, the default,
            "redis://host:6379/0?prefix=feedmix" or "memcached://host:11211" to share it between replicas)
[jobs]      executor (where batch jobs run: "local", this process, the default; "ray", tasks on the Ray
            cluster at ray_address, "host:port" of its head), ray_address
[graphql]   persisted_only (production: accept only the persisted documents of
            src/feedmix/serving/graphql_api/operations, sent by hash), graphiql (GET /graphql shows GraphiQL)
[observability]  otlp_endpoint (OpenTelemetry traces, a span per request, stage and component, sent
            over OTLP/HTTP to this collector, e.g. "http://127.0.0.1:4318"; "": off, the default),
            service_name (the spans' service.name), trace_sample_rate (share of requests traced)
[pipelines.<name>.params]  param default overrides per pipeline
[shadows.<name>]  a shadow of a pipeline (see feedmix.serving.shadow_runner): pipeline, sample_rate,
            params, sources, noise, queue_size, features, gates; records go to <state_dir>/shadow/<name>
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from feedmix.corpus.reddit_corpus import default_data_dir, demo_data_dir


class ConfigFileError(ValueError):
    pass


#: TOML section -> key -> FeedmixConfig field (``from_dict`` reads it, ``to_toml`` writes it)
_TOML_KEYS: dict[str, dict[str, str]] = {
    "server": {
        "host": "host",
        "port": "port",
        "workers": "workers",
        "shed_target_ms": "shed_target_ms",
        "grpc_port": "grpc_port",
    },
    "data": {"posts": "posts", "now": "now"},
    "users": {"count": "users", "seed": "users_seed"},
    "stores": {
        "state_dir": "state_dir",
        "event_log": "event_log",
        "seen": "seen_store",
        "sessions": "session_store",
        "preferences": "preference_store",
        "features": "feature_store",
    },
    "features": {
        "flush_interval_s": "feature_flush_interval_s",
        "log_sample_rate": "feature_log_sample_rate",
        "log_dir": "feature_log_dir",
        "offline_dir": "feature_offline_dir",
        "replay_window_s": "feature_replay_window_s",
        "aggregates": "feature_aggregates",
        "aggregates_url": "feature_aggregates_url",
    },
    "retrieval": {
        "index_dir": "index_dir",
        "build_on_start": "index_build_on_start",
        "build_kind": "index_build_kind",
        "watch_interval_s": "index_watch_interval_s",
        "shards": "index_shards",
    },
    "ranking": {
        "registry_dir": "ranking_registry_dir",
        "watch_interval_s": "ranking_watch_interval_s",
        "runtime": "ranking_runtime",
    },
    "ads": {
        "store": "ads_store",
        "assets_dir": "ads_assets_dir",
        "enabled": "ads_enabled",
        "counters": "ads_counters",
        "frequency": "ads_frequency",
        "dedup": "ads_dedup",
        "refresh_interval_s": "ads_refresh_interval_s",
        "demo_campaigns": "ads_demo_campaigns",
    },
    "experiments": {
        "enabled": "experiments_enabled",
        "store": "experiments_store",
        "exposure_log": "exposure_log",
        "refresh_interval_s": "experiments_refresh_interval_s",
    },
    "signals": {
        "enabled": "signals_enabled",
        "posts_log": "signals_posts_log",
        "tier": "signals_tier",
        "refine": "signals_refine",
        "corpus": "signals_corpus",
    },
    "graphql": {"persisted_only": "graphql_persisted_only", "graphiql": "graphql_graphiql"},
    "cache": {"url": "cache_url"},
    "jobs": {"executor": "jobs_executor", "ray_address": "jobs_ray_address"},
    "observability": {
        "otlp_endpoint": "otlp_endpoint",
        "service_name": "otel_service_name",
        "trace_sample_rate": "trace_sample_rate",
    },
}


@dataclass
class FeedmixConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 4
    #: load shedding: the pipeline p90 the quality factor steers to (0: never shed). Off in a bare
    #: config (tests, embedding); the shipped config/feedmix.toml and `feedmix demo` use 50 ms
    shed_target_ms: float = 0.0
    grpc_port: int = 0
    posts: str = "demo"
    now: float | None = None
    users: int = 2000
    users_seed: int = 42
    state_dir: str = field(default_factory=lambda: os.environ.get("FEEDMIX_STATE_DIR", "var"))
    event_log: str = ""
    seen_store: str = "memory://"
    session_store: str = "memory://"
    preference_store: str = "memory://"
    feature_store: str = "memory://"
    feature_flush_interval_s: float = 1.0
    feature_log_sample_rate: float = 0.1
    feature_log_dir: str = ""
    feature_offline_dir: str = ""
    feature_replay_window_s: float = 86_400.0
    feature_aggregates: str = "inline"
    feature_aggregates_url: str = ""
    index_dir: str = field(default_factory=lambda: os.environ.get("FEEDMIX_INDEX_DIR", ""))
    index_build_on_start: bool = True
    index_build_kind: str = "auto"
    index_watch_interval_s: float = 5.0
    index_shards: str = ""
    ranking_registry_dir: str = ""
    ranking_watch_interval_s: float = 5.0
    ranking_runtime: str = "compiled"
    ads_store: str = ""
    ads_assets_dir: str = ""
    ads_enabled: bool = True
    ads_counters: str = "memory://"
    ads_frequency: str = "memory://"
    ads_dedup: str = "memory://"
    ads_refresh_interval_s: float = 5.0
    #: seed demo campaigns into an empty campaign store at startup (``feedmix demo`` sets it)
    ads_demo_campaigns: bool = False
    experiments_enabled: bool = True
    experiments_store: str = ""
    exposure_log: str = ""
    experiments_refresh_interval_s: float = 2.0
    signals_enabled: bool = True
    signals_posts_log: str = ""
    signals_tier: str = "student"
    signals_refine: str = ""
    signals_corpus: str = "archive"
    graphql_persisted_only: bool = False
    cache_url: str = "memory://"
    jobs_executor: str = "local"
    jobs_ray_address: str = ""
    graphql_graphiql: bool = True
    otlp_endpoint: str = ""
    otel_service_name: str = "feedmix"
    trace_sample_rate: float = 1.0
    pipeline_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: shadow name -> its table (checked when the runtime builds the shadows)
    shadows: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.event_log:
            self.event_log = f"sqlite:///{Path(self.state_dir).resolve() / 'events.db'}"
        if not self.feature_log_dir:
            self.feature_log_dir = str(Path(self.state_dir).resolve() / "feature_log")
        if not self.feature_offline_dir:
            self.feature_offline_dir = str(Path(self.state_dir).resolve() / "offline_features")
        if not self.ads_store:
            self.ads_store = f"sqlite:///{Path(self.state_dir).resolve() / 'ads.db'}"
        if not self.experiments_store:
            self.experiments_store = f"sqlite:///{Path(self.state_dir).resolve() / 'experiments.db'}"
        if not self.signals_posts_log:
            self.signals_posts_log = f"sqlite:///{Path(self.state_dir).resolve() / 'posts.db'}"
        if self.signals_corpus not in ("archive", "label", "off"):
            raise ConfigFileError(
                f"signals.corpus: {self.signals_corpus!r} is not one of 'archive', 'label', 'off'"
            )
        if self.jobs_executor not in ("local", "ray"):
            raise ConfigFileError(f"jobs.executor: {self.jobs_executor!r} is not one of 'local', 'ray'")
        if self.signals_refine not in ("", "teacher"):
            raise ConfigFileError(f"signals.refine: {self.signals_refine!r} is not one of '', 'teacher'")
        if not self.exposure_log:
            self.exposure_log = f"sqlite:///{Path(self.state_dir).resolve() / 'exposures.db'}"
        if not 0 <= self.experiments_refresh_interval_s <= 3600:
            raise ConfigFileError(
                f"experiments.refresh_interval_s: {self.experiments_refresh_interval_s} is outside [0, 3600]"
            )
        if not self.ads_assets_dir:
            self.ads_assets_dir = str(Path(self.state_dir).resolve() / "assets")
        if not self.ranking_registry_dir:
            self.ranking_registry_dir = str(Path(self.state_dir).resolve() / "models")
        if not 0 <= self.ranking_watch_interval_s <= 3600:
            raise ConfigFileError(
                f"ranking.watch_interval_s: {self.ranking_watch_interval_s} is outside [0, 3600]"
            )
        if self.ranking_runtime not in ("native", "compiled"):
            raise ConfigFileError(
                f"ranking.runtime: {self.ranking_runtime!r} is not one of 'native', 'compiled'"
            )
        if not self.index_dir:
            self.index_dir = str(Path(self.state_dir).resolve() / "index")
        if not 0 <= self.index_watch_interval_s <= 3600:
            raise ConfigFileError(
                f"retrieval.watch_interval_s: {self.index_watch_interval_s} is outside [0, 3600]"
            )
        if not 0 < self.feature_flush_interval_s <= 3600:
            raise ConfigFileError(
                f"features.flush_interval_s: {self.feature_flush_interval_s} is outside (0, 3600]"
            )
        if not 0 <= self.feature_replay_window_s <= 30 * 86_400:
            raise ConfigFileError(
                f"features.replay_window_s: {self.feature_replay_window_s} is outside [0, 2592000]"
            )
        if self.feature_aggregates not in ("inline", "workers"):
            raise ConfigFileError(
                f"features.aggregates: {self.feature_aggregates!r} is not one of 'inline', 'workers'"
            )
        if self.feature_aggregates == "workers":
            if not self.feature_aggregates_url.startswith(("redis://", "rediss://")):
                raise ConfigFileError(
                    "features.aggregates_url: aggregates = 'workers' keeps the counts in Redis and needs"
                    f" a redis:// URL here, got {self.feature_aggregates_url!r}"
                )
            if not self.event_log.startswith(("redis://", "rediss://")):
                raise ConfigFileError(
                    "stores.event_log: aggregates = 'workers' reads the log as a Redis Stream and needs"
                    f" a redis://...?stream=NAME URL here, got {self.event_log!r}"
                )
        if not 0 <= self.feature_log_sample_rate <= 1:
            raise ConfigFileError(
                f"features.log_sample_rate: {self.feature_log_sample_rate} is outside [0, 1]"
            )
        if not 0 <= self.trace_sample_rate <= 1:
            raise ConfigFileError(
                f"observability.trace_sample_rate: {self.trace_sample_rate} is outside [0, 1]"
            )
        if self.otlp_endpoint and not self.otlp_endpoint.startswith(("http://", "https://")):
            raise ConfigFileError(
                f"observability.otlp_endpoint: {self.otlp_endpoint!r} is not an http:// or https:// URL"
            )
        if self.otlp_endpoint and not self.otel_service_name:
            raise ConfigFileError("observability.service_name: must not be empty")
        if not 1 <= self.port <= 65535:
            raise ConfigFileError(f"server.port: {self.port} is not a TCP port")
        if not 0 <= self.grpc_port <= 65_535:
            raise ConfigFileError(f"server.grpc_port: {self.grpc_port} is not a port (0: off)")
        if not 0 <= self.shed_target_ms <= 60_000:
            raise ConfigFileError(f"server.shed_target_ms: {self.shed_target_ms} is outside [0, 60000]")
        if not 1 <= self.workers <= 64:
            raise ConfigFileError(f"server.workers: {self.workers} is outside 1..64")
        if not 0 <= self.users <= 1_000_000:
            raise ConfigFileError(f"users.count: {self.users} is outside 0..1000000")

    def posts_path(self) -> Path:
        if self.posts == "demo":
            return demo_data_dir()
        if self.posts == "full":
            return default_data_dir()
        return Path(self.posts)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> FeedmixConfig:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigFileError(f"{path}: {exc}") from exc
        return cls.from_dict(raw)

    def to_toml(self, header: str = "") -> str:
        """Every setting as the TOML ``from_toml`` reads back to an equal config (``now`` only when
        set), so a benchmark can hand a server process exactly the config it built in code."""
        lines = [f"# {line}" for line in header.splitlines()]
        for section, keys in _TOML_KEYS.items():
            values = {k: getattr(self, name) for k, name in keys.items() if getattr(self, name) is not None}
            lines.append(f"\n[{section}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
        for pipeline, params in self.pipeline_params.items():
            lines.append(f"\n[pipelines.{pipeline}.params]")
            lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in params.items()]
        for name, table in self.shadows.items():
            lines.append(f"\n[shadows.{name}]")
            lines += [f"{json.dumps(k)} = {_toml_inline(v)}" for k, v in table.items()]
        return "\n".join(lines).lstrip("\n") + "\n"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FeedmixConfig:
        mapping = _TOML_KEYS
        kwargs: dict[str, Any] = {}
        for section, values in raw.items():
            if section == "shadows":
                if not isinstance(values, dict) or not all(isinstance(t, dict) for t in values.values()):
                    raise ConfigFileError("[shadows.<name>] tables expected")
                kwargs["shadows"] = {name: dict(t) for name, t in values.items()}
                continue
            if section == "pipelines":
                kwargs["pipeline_params"] = {
                    name: dict(p.get("params", {})) for name, p in values.items() if isinstance(p, dict)
                }
                continue
            if section not in mapping:
                raise ConfigFileError(
                    f"unknown section [{section}] (known: {sorted([*mapping, 'pipelines', 'shadows'])})"
                )
            for key, value in values.items():
                if key not in mapping[section]:
                    raise ConfigFileError(f"unknown key {section}.{key} (known: {sorted(mapping[section])})")
                kwargs[mapping[section][key]] = value
        types = {f.name: f.type for f in fields(cls)}
        for name, value in kwargs.items():
            if types[name] in ("int",) and not isinstance(value, int):
                raise ConfigFileError(f"{name}: expected an integer, got {value!r}")
            if types[name] == "float" and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ConfigFileError(f"{name}: expected a number, got {value!r}")
            if types[name] == "bool" and not isinstance(value, bool):
                raise ConfigFileError(f"{name}: expected true or false, got {value!r}")
        return cls(**kwargs)


def _toml_value(value: Any) -> str:
    """A TOML scalar: booleans and numbers as literals, anything else as a basic string (a JSON
    string of the text is a valid TOML basic string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))


def _toml_inline(value: Any) -> str:
    """A TOML value of any depth: tables inline, arrays, scalars (a shadow's params and gates)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml_inline(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_inline(v) for v in value) + "]"
    return _toml_value(value)
