"""The settings a `settlewatch` command runs with, read from the environment once per run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from settlewatch._console import usage_error

if TYPE_CHECKING:
    from serving.settings import Settings

__all__ = ["run_settings"]


def run_settings() -> Settings:
    """This run's settings; a variable with an unusable value is a usage error (exit code 2).

    Not the app's cached `get_settings()`: each command reads the environment it is run in.
    """
    # imported here, as the commands import serving: `settlewatch --help` stays quick
    from serving.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:  # a number that is not one, out of range, a placeholder key
        raise usage_error(f"bad SETTLEWATCH_* setting: {exc}") from exc
