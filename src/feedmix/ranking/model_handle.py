"""The model a server is serving right now, replaced by a promotion without a restart.

Same contract as the ANN :class:`~feedmix.retrieval.ann.index_handle.IndexHandle`, for any kind of
model: readers never lock. ``current()`` is one attribute read of an immutable ``(model, version)``
pair, so a request keeps the object it got for its whole life even if a reload swaps in another one a
microsecond later, and nothing is published before it is completely loaded and validated: no request
can see a half-loaded model or a model paired with the wrong version. Writers (``reload``) take a lock
so two reloads cannot race.

``reload`` follows the registry's ``state.json``. A newly promoted version is checked (file sizes and
SHA-256, then the caller's ``load``, then the caller's ``validate``, e.g. "the server can provide every
feature this model wants") and only then swapped in. Any failure keeps the old model serving, logs one
warning, counts ``feedmix_model_load_failures_total{name}`` and remembers the refusal, so a watcher
polling every few seconds does not re-hash and re-load a bad version each time. Promoting that version
*again* later (a new promotion event) does retry it: an operator may have repaired the files.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from prometheus_client import Counter, Gauge, Info

from feedmix.ranking.model_registry import ModelMeta, ModelRegistry, ModelVersion, RegistryError

log = logging.getLogger(__name__)

T = TypeVar("T")

LOAD_FAILURES = Counter(
    "feedmix_model_load_failures_total",
    "Promoted model versions refused by a serving process (corrupt, unloadable or incompatible)",
    ["name"],
)
SWAPS = Counter("feedmix_model_swaps_total", "Model versions swapped in by a serving process", ["name"])
SERVING_VERSION = Info("feedmix_model_version", "The model version a serving process is serving", ["name"])
LOADED_AT = Gauge(
    "feedmix_model_loaded_timestamp_seconds", "When the serving model version was swapped in", ["name"]
)


def _no_validation(model: object, meta: ModelMeta) -> None:
    return None


class ModelHandle(Generic[T]):
    """Holds the serving model of one registry name; ``current()`` is safe from any thread."""

    def __init__(
        self,
        registry: ModelRegistry,
        name: str,
        load: Callable[[Path, ModelMeta], T],
        validate: Callable[[T, ModelMeta], None] = _no_validation,
    ) -> None:
        registry.model_dir(name)  # an invalid name fails here, not on the watcher thread
        self.registry = registry
        self.name = name
        self._load = load
        self._validate = validate
        self._current: tuple[T, ModelVersion] | None = None
        self._write_lock = threading.Lock()
        #: (version, promotion serial) -> reason; a key is tried once
        self._refused: dict[tuple[str, int], str] = {}
        self._last_refusal: dict[str, Any] | None = None
        self._last_error: str | None = None
        self._loaded_at: float | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    # -- reading ---------------------------------------------------------------------------------

    def current(self) -> tuple[T, ModelVersion] | None:
        """The serving model and its version, or None before any version loaded. Never blocks."""
        return self._current

    @property
    def version(self) -> str | None:
        cur = self._current
        return None if cur is None else cur[1].version

    def describe(self) -> dict[str, Any]:
        """For health endpoints: what serves, since when, and the last refusal (if any)."""
        cur = self._current
        return {
            "name": self.name,
            "version": None if cur is None else cur[1].version,
            "loaded_at": self._loaded_at,
            "last_refusal": self._last_refusal,
            "watching": self._watcher is not None,
        }

    # -- replacing -------------------------------------------------------------------------------

    def reload(self) -> dict[str, Any]:
        """Swap in the promoted version if it changed and is sound; never raises.

        Returns ``{"name", "status", "version", "previous", "reason"}`` where status is ``swapped``,
        ``unchanged``, ``absent`` (nothing promoted), ``refused`` (the promoted version cannot serve;
        ``version`` names it, the previous model keeps serving) or ``error`` (the registry state
        could not be read; the previous model keeps serving).
        """
        with self._write_lock:
            out = self._reload_locked()
        return out

    def _reload_locked(self) -> dict[str, Any]:
        cur = self._current
        previous = None if cur is None else cur[1].version
        out: dict[str, Any] = {
            "name": self.name,
            "status": "unchanged",
            "version": previous,
            "previous": previous,
            "reason": "",
        }
        try:
            state = self.registry.state(self.name)
        except RegistryError as exc:
            reason = str(exc)
            if reason != self._last_error:  # warn once per distinct problem, not every poll
                self._last_error = reason
                LOAD_FAILURES.labels(name=self.name).inc()
                log.warning(
                    "model %s: cannot read the registry state, keeping %s: %s", self.name, previous, reason
                )
            return {**out, "status": "error", "reason": reason}
        self._last_error = None
        if state.promoted is None:
            return {**out, "status": "absent"}
        if state.promoted == previous:
            return out
        key = (state.promoted, state.serial)
        if key in self._refused:
            return {**out, "status": "refused", "version": state.promoted, "reason": self._refused[key]}
        try:
            mv = self.registry.get(self.name, state.promoted)
            problems = self.registry.verify(mv)
            if problems:
                raise RegistryError("files fail verification: " + "; ".join(problems))
            model = self._load(mv.path, mv.meta)
            self._validate(model, mv.meta)
        except Exception as exc:  # anything wrong with the new version: keep serving the old one
            reason = f"{type(exc).__name__}: {exc}"
            self._refused[key] = reason
            self._last_refusal = {"version": state.promoted, "reason": reason, "at": time.time()}
            LOAD_FAILURES.labels(name=self.name).inc()
            log.warning(
                "model %s: version %s refused, %s keeps serving: %s",
                self.name,
                state.promoted,
                previous or "nothing",
                reason,
            )
            return {**out, "status": "refused", "version": state.promoted, "reason": reason}
        self._current = (model, mv)  # the swap: one reference assignment
        self._loaded_at = time.time()
        SWAPS.labels(name=self.name).inc()
        SERVING_VERSION.labels(name=self.name).info({"version": mv.version})
        LOADED_AT.labels(name=self.name).set(self._loaded_at)
        log.info("model %s: now serving %s (was %s)", self.name, mv.version, previous)
        return {**out, "status": "swapped", "version": mv.version}

    # -- watching --------------------------------------------------------------------------------

    def start_watching(self, interval_s: float = 5.0) -> None:
        """Poll the registry's ``state.json`` on a daemon thread and reload when it changes.

        Polling a small file beats inotify here: it works the same on every platform and on network
        file systems, and a few seconds of delay before a promotion serves is fine.
        """
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        if self._watcher is not None:
            raise RuntimeError(f"model {self.name!r} is already being watched")
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.reload()  # reading an unchanged state.json is a few microseconds
                except Exception:  # pragma: no cover - reload never raises; the watcher must not die
                    log.exception("model %s: reload failed", self.name)

        self._watcher = threading.Thread(target=loop, name=f"model-watch-{self.name}", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        """Stop watching (the serving model stays available to ``current()``)."""
        watcher = self._watcher
        if watcher is not None:
            self._stop.set()
            watcher.join()
            self._watcher = None

    def __enter__(self) -> ModelHandle[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
