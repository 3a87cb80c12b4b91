"""The ablation grid and the few-shot sweep on the tiny dataset: every cell trained, tables, plots, reuse."""

from __future__ import annotations

import json

import pytest
import yaml

from experiments_fixture import experiment_config, make_exported
from random_people.cli import main
from random_people.experiments.config import config_from_dict
from random_people.experiments.results import read_table
from random_people.experiments.sweeps import ablation_grid, run_ablation

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep_data")
    make_exported(root, real_per_class=4, synthetic_per_real=2)
    return root


def test_grid_is_every_nonempty_combination():
    grid = ablation_grid()
    assert len(grid) == 7 and len({tuple(g) for g in grid}) == 7
    assert ["real"] in grid and ["plain", "background"] in grid and ["real", "plain", "background"] in grid


def test_ablation_trains_each_combination_and_reuses_finished_cells(dataset, tmp_path):
    raw = experiment_config(dataset, tmp_path / "out", "videomae")
    raw["train"]["epochs"] = 1
    cfg = config_from_dict(raw)
    summary = run_ablation(cfg)
    cells = {c["use"]: c for c in summary["cells"]}
    assert set(cells) == {"+".join(g) for g in ablation_grid()}
    # 4 real per class, 2 of them test: 6 real training clips; each has a plain and an image-background copy.
    assert cells["real"]["train_real"] == 6 and cells["real"]["train_synthetic"] == 0
    assert cells["plain"]["train_real"] == 0 and cells["plain"]["train_synthetic"] == 6
    assert cells["real+plain+background"]["train_synthetic"] == 12
    root = tmp_path / "out" / "ablation"
    assert (root / "ablation.png").read_bytes()[:8] == PNG
    assert len(read_table(root / "results.csv")) == 7
    for combo, cell in cells.items():
        plan = json.loads((root / combo / "data_plan.json").read_text())
        assert {row["kind"] for row in plan["train"]} == set(combo.split("+"))
        assert all(row["kind"] == "real" for row in plan["test"])
    again = run_ablation(cfg)                         # finished cells are reused, not retrained
    assert again["cells"] == summary["cells"]
    assert len(read_table(root / "results.csv")) == 7


def test_fewshot_cli_sweeps_k_and_synthetic_amounts(dataset, tmp_path, capsys):
    raw = experiment_config(dataset, tmp_path / "out", "timesformer")
    raw["output_dir"] = "out"
    raw["train"]["epochs"] = 1
    raw["fewshot"] = {"k": [1, 2], "synthetic_per_class": [0, 2], "seeds": [0, 1]}
    path = tmp_path / "fewshot.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["fewshot", str(path), "--synthetic", "0", "4"]) == 0
    assert "plot:" in capsys.readouterr().out
    root = tmp_path / "out" / "fewshot"
    summary = json.loads((root / "fewshot.json").read_text())
    cells = {(c["k"], c["synthetic_per_class"], c["seed"]): c for c in summary["cells"]}
    assert set(cells) == {(k, n, s) for k in (1, 2) for n in (0, 4) for s in (0, 1)}
    for (k, n, _), cell in cells.items():
        assert cell["train_real"] == 3 * k
        assert cell["train_synthetic"] == 3 * n          # 4 per class are available outside the test set
    picked = [json.loads((root / f"k1_syn0_seed{s}" / "data_plan.json").read_text())["train"] for s in (0, 1)]
    assert picked[0] != picked[1]                        # the seed picks the k real clips
    assert [p[0] for p in summary["series"]["k = 2"]] == [0, 4]
    assert (root / "fewshot.png").read_bytes()[:8] == PNG
    assert len(read_table(root / "results.csv")) == 8
