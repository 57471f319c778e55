"""`settlewatch bench handbook` on a small synthetic sample: the JSON and the table it writes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from settlewatch.bench_cli import bench_app

runner = CliRunner()


def test_handbook_writes_the_documented_json_and_markdown(sample_path, tmp_path):
    out = tmp_path / "result.json"
    args = ["handbook", "--data", str(sample_path), "--protocol", "single", "--out", str(out)]
    result = runner.invoke(bench_app, [*args, "--quick"])
    assert result.exit_code == 0, result.output
    body = json.loads(out.read_text())
    assert body["protocol"] == "single"
    for metric in ("auc", "ap", "cp100"):
        assert 0.0 <= body[metric] <= 1.0
        assert body[metric] == body["folds"][0][metric]  # one fold: its figures are the means
    (fold,) = body["folds"]
    assert fold["train_start"] == "2018-07-25"
    assert fold["test_start"] == "2018-08-08"
    assert fold["test_frauds"] > 0
    assert body["auc"] > 0.8  # the sample's frauds are learnable: the model found them
    assert body["model"]["trainer"] == "training.models.RiskClassifier"
    assert [p["model"] for p in body["published"]] == [
        "logistic regression", "random forest", "XGBoost"
    ]  # fmt: skip
    assert body["fidelity"]["train_rows"] == fold["train_rows"]
    assert set(body["seconds"]) == {"features", "selection", "test", "total"}
    table = out.with_suffix(".md").read_text()
    assert "| logistic regression (published) | 0.871 | 0.606 | 0.291 |" in table
    assert "settlewatch: LightGBM" in table


def test_an_unknown_protocol_or_output_is_a_usage_error(sample_path, tmp_path):
    base = ["handbook", "--data", str(sample_path), "--out", str(tmp_path / "r.json")]
    bad_protocol = runner.invoke(bench_app, [*base, "--protocol", "weekly"])
    assert bad_protocol.exit_code == 2
    assert "single or prequential" in bad_protocol.output
    bad_out = runner.invoke(
        bench_app,
        ["handbook", "--data", str(sample_path), "--protocol", "single", "--out", "r.csv"],
    )
    assert bad_out.exit_code == 2
    missing = runner.invoke(
        bench_app,
        ["handbook", "--data", str(tmp_path / "none.parquet"), "--protocol", "single",
         "--out", str(tmp_path / "r.json")],
    )  # fmt: skip
    assert missing.exit_code == 2
