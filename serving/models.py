"""The model the API scores with: the registry alias, cached on disk, swapped without downtime.

`ModelManager.refresh()` asks the MLflow registry which version the alias points at; a new
version is downloaded into the cache folder (once), loaded, checked against the feature set,
and swapped in with one reference assignment, so a request in flight keeps the model it
started with. A poller thread calls `refresh` every few seconds. When the registry is
unreachable at start-up, the last champion loaded (remembered in the cache) is used. With no
usable model, `current` is None and the API answers from the rules fallback.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from features import FEATURE_SET
from risk_model import ModelLoadError, RiskModel, load_model_dir
from serving.settings import Settings

__all__ = ["LoadedModel", "ModelManager"]

log = logging.getLogger("settlewatch.models")


class DownloadError(ModelLoadError):
    """The registry or its artifact store could not deliver the version (may be transient)."""


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
    ) -> None:
        self.on_change = on_change
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
        )

    # -- loading -------------------------------------------------------------------------

    def _version_dir(self, version: str) -> Path:
        return self.cache_dir / self.name / version

    def _pointer(self) -> Path:
        return self.cache_dir / self.name / f"{self.alias}.json"

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
            raise DownloadError(
                path=self._version_dir(version), detail=f"cannot download v{version}: {exc}"
            ) from exc
        model = load_model_dir(folder)
        if model.feature_set_ref != self.feature_set_ref:
            raise ModelLoadError(
                path=folder,
                detail=f"{self.name} v{version} was trained on feature set "
                f"{model.feature_set_ref}, this service computes {self.feature_set_ref}",
            )
        return LoadedModel(model=model, name=self.name, version=version, loaded_at=time.time())

    def _client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def _alias_version(self) -> str:
        return str(self._client().get_model_version_by_alias(self.name, self.alias).version)

    def refresh(self) -> bool:
        """Follow the alias; True when the model in use changed. Never raises."""
        changed = self._refresh()
        if changed and self.on_change is not None:
            self.on_change(self.current)
        return changed

    def _refresh(self) -> bool:
        with self._lock:
            try:
                version = self._alias_version()
            except Exception as exc:  # registry down or no such alias
                self.last_error = f"registry: {exc}"
                if self.current is None:
                    return self._load_remembered()
                return False
            if self.current is not None and self.current.version == version:
                return False
            if version == self._failed:
                return False
            try:
                loaded = self.load_version(version)
            except ModelLoadError as exc:
                log.error("model not usable, answering from the fallback: %s", exc)
                self.last_error = str(exc)
                # a bad bundle stays bad; a failed download is retried at the next poll
                self._failed = None if isinstance(exc, DownloadError) else version
                changed = self.current is not None
                self.current = None
                return changed
            self._failed = None
            self.current = loaded
            self.last_error = None
            self._remember(version)
            log.info("serving %s v%s", self.name, version)
            return True

    def _remember(self, version: str) -> None:
        pointer = self._pointer()
        pointer.parent.mkdir(parents=True, exist_ok=True)
        tmp = pointer.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": version}))
        tmp.replace(pointer)

    def _load_remembered(self) -> bool:
        try:
            version = str(json.loads(self._pointer().read_text())["version"])
            self.current = self.load_version(version)
        except (OSError, ValueError, KeyError, ModelLoadError):
            return False
        log.warning("registry unreachable: serving the cached %s v%s", self.name, version)
        return True

    # -- polling -------------------------------------------------------------------------
    def start(self, every_seconds: float) -> None:
        """Poll the registry in a daemon thread (no-op when `every_seconds` ≤ 0)."""
        if every_seconds <= 0 or self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(every_seconds):
                self.refresh()

        self._thread = threading.Thread(target=loop, name="model-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
