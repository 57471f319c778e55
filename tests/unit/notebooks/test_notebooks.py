"""The notebooks run (papermill, a real kernel, a real MLflow store) and stay thin and clean."""

from __future__ import annotations

import ast
import datetime as dt
import sys
from pathlib import Path

import nbformat
import polars as pl
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from mlflow import MlflowClient

from simulator import simulate
from training.registry import CHAMPION, MODEL_NAME
from training.train import promote, train
from small_acquirer import SMALL_ACQUIRER, START

NOTEBOOKS = Path(__file__).resolve().parents[3] / "notebooks"
KERNEL = "python3"


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 merchants × 50 days with raised fraud shares (tests/unit/training's small acquirer)."""
    out = tmp_path_factory.mktemp("sim")
    config = SMALL_ACQUIRER
    simulate(config, out_dir=out)
    return out


def _execute(
    name: str, out: Path, parameters: dict[str, object], cwd: Path
) -> nbformat.NotebookNode:
    # imported here: papermill pulls in the whole Jupyter stack, which only these tests need
    import papermill

    papermill.execute_notebook(
        str(NOTEBOOKS / name),
        str(out),
        parameters=parameters,
        kernel_name=KERNEL,
        cwd=str(cwd),
        progress_bar=False,
        log_output=False,
    )
    return nbformat.read(out, as_version=4)


def _text(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def _images(notebook: nbformat.NotebookNode) -> int:
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )


def test_the_kernel_runs_this_python() -> None:
    # jupyter_client swaps a bare "python" for sys.executable; any other path would run a
    # Python without settlewatch installed
    argv = KernelSpecManager().get_kernel_spec(KERNEL).argv
    assert argv[0] == "python" or Path(argv[0]).resolve() == Path(sys.executable).resolve()


def test_both_notebooks_are_there() -> None:
    assert [p.name for p in _notebooks()] == ["01-explore-unsettled.ipynb", "02-retrain.ipynb"]


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.name)
def test_committed_notebooks_carry_no_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for k, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {k} has outputs: clear them"
            assert cell.execution_count is None, f"{path.name} cell {k} has an execution count"


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.name)
def test_notebooks_define_nothing_and_take_parameters(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell is papermill's"
    for cell in code:
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith("%")
        )
        for node in ast.walk(ast.parse(source)):
            assert not isinstance(
                node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
            ), f"{path.name} defines {type(node).__name__}: put it in the library"


def test_explore_runs_on_a_small_acquirer(data_dir: Path, tmp_path: Path) -> None:
    executed = _execute(
        "01-explore-unsettled.ipynb",
        tmp_path / "01.ipynb",
        {"data_dir": str(data_dir)},
        tmp_path,
    )
    assert _images(executed) == 3
    text = _text(executed)
    assert "benign_delay" in text
    assert "skimming" in text


def test_retrain_registers_compares_and_promotes_only_a_winner(
    data_dir: Path, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # an older champion, trained before the last five days were known
    older = train(
        data_dir=data_dir, until=START + dt.timedelta(days=45), register=True, tracking_uri=uri
    )
    assert promote(version=older.version or "", tracking_uri=uri).promoted

    # analysts confirm twenty labels and decide one case of a transaction the folder lacks
    outcomes = pl.read_parquet(data_dir / "outcomes.parquet")
    confirmed = outcomes.filter(pl.col("label_source") != "analyst").head(20)
    stray = confirmed.head(1).with_columns(pl.lit("tx_not_in_this_folder").alias("tx_id"))
    labels = pl.concat([confirmed, stray]).with_columns(pl.lit("analyst").alias("label_source"))
    labels_file = tmp_path / "labels.parquet"
    labels.write_parquet(labels_file)

    work_dir = tmp_path / "retrain"
    executed = _execute(
        "02-retrain.ipynb",
        tmp_path / "02.ipynb",
        {
            "data_dir": str(data_dir),
            "labels_file": str(labels_file),
            "cutoff": None,
            "tracking_uri": uri,
            "work_dir": str(work_dir),
        },
        tmp_path,
    )

    merged = pl.read_parquet(work_dir / "outcomes.parquet")
    analyst_before = outcomes.filter(pl.col("label_source") == "analyst").height
    assert merged.filter(pl.col("label_source") == "analyst").height == analyst_before + 20
    assert merged.height == outcomes.height
    assert "dropped_unknown_tx=1" in _text(executed)

    client = MlflowClient(tracking_uri=uri)
    version = client.get_model_version(MODEL_NAME, "2")
    run = client.get_run(version.run_id or "")
    assert run.data.params["data_dir"] == str(work_dir)
    for key in ("risk.pr_auc", "risk.recall_at_5pct", "baseline.risk.pr_auc"):
        assert key in run.data.metrics

    # the comparison ran against version 1, and the alias moved only if version 2 won
    text = _text(executed)
    assert "champion: version 1" in text
    promoted = "promoted: True" in text
    assert promoted or "promoted: False" in text
    champion = client.get_registered_model(MODEL_NAME).aliases[CHAMPION]
    assert str(champion) == ("2" if promoted else "1")
    assert _images(executed) == 1
