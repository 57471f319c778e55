"""Each top-level package is this repository's, not a same-named one from site-packages."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ["settlewatch", "data_contracts", "features", "training", "serving", "simulator"]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_resolves_to_this_repository(name):
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().parent == REPO / name


def test_console_script_is_installed_in_the_project_venv():
    script = shutil.which("settlewatch", path=str(REPO / ".venv" / "bin"))
    assert script is not None


def test_top_level_folders_of_the_product_card_exist():
    for folder in ("features", "training", "serving", "notebooks", "data_contracts", "tests"):
        assert (REPO / folder).is_dir(), folder
    for file in ("pyproject.toml", "Makefile", "README.md"):
        assert (REPO / file).is_file(), file
