"""The model the API scores with: the registry alias, cached on disk, swapped without downtime.

`ModelManager.refresh()` asks the MLflow registry which version the alias points at; a new
version is downloaded into the cache folder (once), loaded (`risk_model.load_model_dir`:
checksums, structure, LightGBM's parser in a throwaway process), checked against the feature
set, tried on one row, and swapped in with one reference assignment, so a request in flight
keeps the model it started with.

Nothing about a model can take the process down or hold answers back:

- `start()` loads in a daemon thread: the API answers from the rules fallback until the first
  model arrives (readiness says why there is none yet), retrying with backoff from 1 s up to
  the poll interval, then polls every few seconds;
- every registry call is bounded (`registry_timeout_seconds` per HTTP request, one retry:
  MLflow's own default, 7 retries with exponential backoff and a 120 s timeout, held start-up
  for 256 s against a registry that refused connections);
- a version that cannot be loaded, for any reason, is logged with what failed and kept out:
  the model already in use keeps serving; with none, the last model this cache served (the
  registry unreachable, or the champion broken) or else the fallback answers. It is not
  retried until the alias moves, unless the failure was a download's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from features import FEATURE_SET
from risk_model import ModelLoadError, RiskModel, load_model_dir
from serving.errors import ModelDownloadError
from serving.settings import Settings

__all__ = ["LoadedModel", "ModelManager"]

log = logging.getLogger("settlewatch.models")

#: MLflow reads its HTTP client's limits from these variables at every request; ours are set
#: around our calls only (one lock: the variables are process-wide)
_HTTP_LIMITS_LOCK = threading.RLock()
#: one retry per request: the loader's own backoff covers longer outages
_HTTP_RETRIES = 1
_FIRST_RETRY_SECONDS = 1.0
_MAX_RETRY_SECONDS = 60.0


@contextlib.contextmanager
def _registry_limits(timeout_seconds: float) -> Iterator[None]:
    limits = {
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, math.ceil(timeout_seconds))),
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(_HTTP_RETRIES),
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    }
    with _HTTP_LIMITS_LOCK:
        before = {k: os.environ.get(k) for k in limits}
        os.environ.update(limits)
        try:
            yield
        finally:
            for k, v in before.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _short(exc: BaseException) -> str:
    """An exception in one line (MLflow's can run to pages)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to score, with where it came from."""

    model: RiskModel
    name: str
    version: str
    loaded_at: float


class ModelManager:
    """Keeps the alias's model loaded; never raises into a request."""

    def __init__(
        self,
        *,
        tracking_uri: str,
        name: str,
        alias: str,
        cache_dir: Path,
        feature_set_ref: str,
        on_change: Callable[[LoadedModel | None], None] | None = None,
        registry_timeout_seconds: float = 10.0,
    ) -> None:
        self.on_change = on_change
        self.registry_timeout_seconds = registry_timeout_seconds
        self.tracking_uri = tracking_uri
        self.name = name
        self.alias = alias
        self.cache_dir = cache_dir
        self.feature_set_ref = feature_set_ref
        self.current: LoadedModel | None = None
        self.last_error: str | None = None
        #: a version that failed to load is not retried until the alias moves
        self._failed: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: set when the background loader's first attempt has ended, loaded or not
        self._first_attempt = threading.Event()
        self._next_retry: float | None = None

    @classmethod
    def for_settings(
        cls,
        settings: Settings,
        on_change: Callable[[LoadedModel | None], None] | None = None,
    ) -> ModelManager:
        """The settings' registered model and cache, for this package's feature set."""
        return cls(
            tracking_uri=settings.tracking_uri,
            name=settings.model_name,
            alias=settings.model_alias,
            cache_dir=settings.model_cache,
            feature_set_ref=FEATURE_SET.ref,
            on_change=on_change,
            registry_timeout_seconds=settings.registry_timeout_seconds,
        )

    # -- loading -------------------------------------------------------------------------

    @property
    def _registry_dir(self) -> Path:
        # one folder per registry: two registries sharing a cache each have their own v1
        key = hashlib.sha256(self.tracking_uri.encode()).hexdigest()[:16]
        return self.cache_dir / key / self.name

    def _version_dir(self, version: str) -> Path:
        return self._registry_dir / version

    def _pointer(self) -> Path:
        return self._registry_dir / f"{self.alias}.json"

    def _download(self, version: str) -> Path:
        target = self._version_dir(version)
        if target.exists():
            return target
        import mlflow.artifacts  # slow import, only when a download is needed

        partial = target.with_name(f".{version}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        # resolve through our own client: a `models:/` URI would follow the process-wide
        # registry URI, which need not be ours
        with _registry_limits(self.registry_timeout_seconds):
            source = self._client().get_model_version_download_uri(self.name, version)
            mlflow.artifacts.download_artifacts(
                artifact_uri=source, dst_path=str(partial), tracking_uri=self.tracking_uri
            )
        # rename is atomic: a crash mid-download never leaves a half model under its name
        partial.rename(target)
        return target

    def load_version(self, version: str) -> LoadedModel:
        """Download (if needed) and load `version`; ModelLoadError if it cannot serve."""
        try:
            folder = self._download(version)
        except ModelLoadError:
            raise
        except Exception as exc:  # MLflow raises many types for a missing or bad artifact
            raise ModelDownloadError(
                path=self._version_dir(version),
                detail=f"cannot download v{version}: {_short(exc)}",
            ) from exc
        model = load_model_dir(folder)
        if model.feature_set_ref != self.feature_set_ref:
            raise ModelLoadError(
                path=folder,
                detail=f"{self.name} v{version} was trained on feature set "
                f"{model.feature_set_ref}, this service computes {self.feature_set_ref}",
            )
        try:
            # one row of missing values through every model and the explanation: a bundle
            # that loads but cannot answer is refused here, not at its first request
            empty = np.full((1, len(model.feature_names)), np.nan)
            model.predict_matrix(empty)
            model.risk_contributions(empty)
        except Exception as exc:
            raise ModelLoadError(
                path=folder, detail=f"loaded, but fails on a row of missing values: {exc!r}"
            ) from exc
        return LoadedModel(model=model, name=self.name, version=version, loaded_at=time.time())

    def _client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def _alias_version(self) -> str:
        with _registry_limits(self.registry_timeout_seconds):
            found = self._client().get_model_version_by_alias(self.name, self.alias)
        return str(found.version)

    def refresh(self) -> bool:
        """Follow the alias; True when the model in use changed. Never raises."""
        try:
            changed = self._refresh()
        except Exception as exc:  # a bug here must not stop the poller or the start-up
            log.exception("following %s@%s failed", self.name, self.alias)
            self.last_error = f"model refresh failed: {_short(exc)}"
            return False
        if changed and self.on_change is not None:
            self.on_change(self.current)
        return changed

    def _refresh(self) -> bool:
        with self._lock:
            try:
                version = self._alias_version()
            except Exception as exc:  # registry down or no such alias
                self.last_error = f"registry: {_short(exc)}"
                if self.current is None:
                    return self._load_remembered()
                return False
            if self.current is not None and self.current.version == version:
                self.last_error = None
                return False
            if version == self._failed:
                return False
            try:
                loaded = self.load_version(version)
            except Exception as exc:  # ModelLoadError, or anything a broken bundle raises
                self._rejected(version, exc)
                # a bad bundle stays bad; a failed download is retried at the next poll
                self._failed = None if isinstance(exc, ModelDownloadError) else version
                if self.current is None and not isinstance(exc, ModelDownloadError):
                    return self._load_remembered(besides=version)
                return False
            self._failed = None
            self.current = loaded
            self.last_error = None
            self._remember(version)
            log.info("serving %s v%s", self.name, version)
            return True

    def _rejected(self, version: str, exc: Exception) -> None:
        detail = exc.detail if isinstance(exc, ModelLoadError) else repr(exc)
        current = self.current
        if current is not None:
            self.last_error = (
                f"{self.name}@{self.alias} is v{version}, not usable; still serving "
                f"v{current.version}: {detail}"
            )
            log.error(
                "%s v%s not usable, still serving v%s: %s", self.name, version, current.version, exc
            )
        else:
            self.last_error = f"{self.name}@{self.alias} is v{version}, not usable: {detail}"
            log.error("%s v%s not usable, no model to serve: %s", self.name, version, exc)

    def _remember(self, version: str) -> None:
        pointer = self._pointer()
        pointer.parent.mkdir(parents=True, exist_ok=True)
        tmp = pointer.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": version}))
        tmp.replace(pointer)

    def _load_remembered(self, besides: str | None = None) -> bool:
        """Serve the last version this cache served (not `besides`); True when loaded."""
        try:
            version = str(json.loads(self._pointer().read_text())["version"])
        except (OSError, ValueError, KeyError, TypeError):
            return False
        if version == besides:
            return False
        try:
            self.current = self.load_version(version)
        except Exception as exc:
            log.error("the cached %s v%s is not usable either: %s", self.name, version, exc)
            return False
        log.warning(
            "serving the cached %s v%s (%s)", self.name, version, self.last_error or "registry"
        )
        return True

    def describe(self) -> str:
        """What readiness reports: the version in use, or why there is none, and any trouble."""
        current, error = self.current, self.last_error
        if current is not None:
            text = f"{current.name} v{current.version}"
            return f"{text} ({error})" if error else text
        if error is None:
            if self._thread is not None and not self._first_attempt.is_set():
                error = f"loading {self.name}@{self.alias}, no model yet"
            else:
                error = "no champion"
        retry = self._next_retry
        if retry is not None and self._thread is not None:
            error += f"; next attempt in {max(0.0, retry - time.monotonic()):.0f} s"
        return f"none (fallback answers): {error}"

    # -- polling -------------------------------------------------------------------------
    def start(self, every_seconds: float) -> None:
        """Load the alias's model in a daemon thread, now, retrying with backoff until one is
        loaded; then poll every `every_seconds` (≤ 0: no polling once a model is loaded)."""
        if self._thread is not None:
            return
        longest = min(_MAX_RETRY_SECONDS, every_seconds) if every_seconds > 0 else None

        def loop() -> None:
            delay = _FIRST_RETRY_SECONDS
            while True:
                self.refresh()
                self._first_attempt.set()
                if self.current is None:
                    wait = delay
                    delay = min(delay * 2, longest or _MAX_RETRY_SECONDS)
                    self._next_retry = time.monotonic() + wait
                elif every_seconds > 0:
                    wait, delay, self._next_retry = every_seconds, _FIRST_RETRY_SECONDS, None
                else:
                    self._next_retry = None
                    return
                if self._stop.wait(wait):
                    return

        self._thread = threading.Thread(target=loop, name="model-loader", daemon=True)
        self._thread.start()

    def wait_first_attempt(self, timeout_seconds: float) -> bool:
        """Block until the loader's first attempt ended (True) or `timeout_seconds` passed."""
        return self._first_attempt.wait(timeout_seconds)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
