"""The plan never generates a latent twice, seed lists are tied to their network, and seeds-check
checks directions: plan, plan step and ``synthfer seeds-check``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from synthfer import AU_COLUMNS
from synthfer.seeds.plan import (
    NetworkMismatch,
    build_plan,
    plan_merges,
    read_plan,
    write_seed_plan,
)
from synthfer.seeds.spec import SeedSpecError, format_seed_yaml, load_seed_spec, parse_seed_spec


def seeds_data(**generation):
    gen = {
        "truncation_psi": [0.7, 1.0],
        "include_unedited": True,
        "images_per_seed": None,
        "edits": [
            {"seeds": "all", "directions": [0, 1, 2], "degrees": [-2.0, 0.0, 2.0]},
            {"seeds": "AU12", "directions": [3], "degrees": [0.0, 1.5], "layers": [2, None]},
        ],
    }
    gen.update(generation)
    return {
        "format": 1,
        # seed 7 in two AU lists, seed 9 in three
        "aus": {"AU1": [5, 9], "AU4": [], "AU5": [9], "AU6": [7], "AU12": [7, 9], "AU15": []},
        "neutral": [3],
        "generation": gen,
        "label_rules": [{"direction": 1, "degree_min": -1.0, "add": ["AU15"]}],
    }


def canonical_keys(plan) -> list[tuple]:
    """(seed, ψ, direction, degree, layers) with degree 0 of any direction = the unedited image."""
    keys = []
    for r in plan.itertuples(index=False):
        if r.direction < 0 or r.degree == 0.0:
            keys.append((r.seed, r.psi, -1, 0.0, 0, 0))
        else:
            keys.append((r.seed, r.psi, r.direction, r.degree, r.layer_start, r.layer_end))
    return keys


@pytest.mark.parametrize("include_unedited", [True, False])
def test_no_two_plan_rows_share_a_latent_key(include_unedited):
    spec = parse_seed_spec(seeds_data(include_unedited=include_unedited))
    plan = build_plan(spec, n_shards=2, default_layers=(0, None), num_ws=6, n_directions=4)
    keys = canonical_keys(plan)
    assert len(keys) == len(set(keys))
    # no edited row at degree 0: those are the unedited image, once per seed and ψ
    assert not ((plan["direction"] >= 0) & (plan["degree"] == 0.0)).any()
    unedited = plan[plan["direction"] < 0]
    assert sorted(zip(unedited["seed"], unedited["psi"], strict=True)) == sorted(
        (s, p) for s in spec.seeds for p in (0.7, 1.0)
    )
    # one image per seed and combination, whatever the number of AU lists a seed is in
    per_seed = plan.groupby("seed").size().to_dict()
    # per ψ: unedited + directions 0-2 × (−2, +2) = 7; AU12 seeds 7, 9 also direction 3 at +1.5 → 8
    assert per_seed == {3: 14, 5: 14, 7: 16, 9: 16}


def test_same_seed_in_several_lists_is_one_image_with_the_union_of_labels():
    spec = parse_seed_spec(seeds_data())
    plan = build_plan(spec, n_shards=1, num_ws=6, n_directions=4)
    s9 = plan[(plan["seed"] == 9) & (plan["direction"] == -1)]
    assert len(s9) == 2  # one unedited image per ψ, not one per AU list
    assert s9[list(AU_COLUMNS)].values.tolist() == [[1, 0, 1, 0, 1, 0]] * 2  # AU1 + AU5 + AU12
    assert (plan.loc[plan["seed"] == 7, "AU6"] == 1).all() and (plan.loc[plan["seed"] == 7, "AU12"] == 1).all()


def test_degree_zero_rows_carry_the_seed_label_not_a_label_rule():
    # the rule adds AU15 to direction 1 from degree −1 on: it covers degree 0, which is the unedited image
    spec = parse_seed_spec(seeds_data())
    plan = build_plan(spec, n_shards=1, num_ws=6, n_directions=4)
    unedited = plan[(plan["seed"] == 5) & (plan["direction"] == -1)]
    assert unedited["AU15"].tolist() == [0, 0] and unedited["AU1"].tolist() == [1, 1]
    edited = plan[(plan["seed"] == 5) & (plan["direction"] == 1) & (plan["degree"] == 2.0)]
    assert edited["AU15"].tolist() == [1, 1]


def test_degree_zero_without_include_unedited_plans_the_unedited_image_once():
    spec = parse_seed_spec(seeds_data(include_unedited=False, truncation_psi=0.7))
    plan = build_plan(spec, n_shards=1, num_ws=6, n_directions=4)
    s3 = plan[plan["seed"] == 3]
    assert s3[["direction", "degree"]].values.tolist() == [
        [0, -2.0], [-1, 0.0], [0, 2.0], [1, -2.0], [1, 2.0], [2, -2.0], [2, 2.0],
    ]  # fmt: skip


def test_plan_merges_reports_what_was_merged():
    spec = parse_seed_spec(seeds_data())
    merges = plan_merges(spec)
    # per seed and ψ: directions 0-2 at degree 0 (3), plus direction 3 at 0 for the AU12 seeds 7 and 9
    assert merges.degree_zero == {3: 6, 5: 6, 7: 8, 9: 8}
    assert merges.degree_zero_directions == (0, 1, 2, 3)
    assert merges.multi_au_seeds == {7: ("AU6", "AU12"), 9: ("AU1", "AU5", "AU12")}
    lines = merges.lines()
    assert lines[0].startswith("merged 28 degree-0 edit(s) (direction(s) 0, 1, 2, 3) of 4 seed(s)")
    assert lines[1].startswith("merged 2 seed(s) listed under several AUs") and "9 (AU1+AU5+AU12)" in lines[1]
    assert plan_merges(parse_seed_spec(seeds_data(edits=[]))).lines()[:1] == [lines[1]]


def test_no_two_plan_rows_yield_the_same_w():
    """Render the w of every row with a tiny generator, exactly as generation does."""
    torch = pytest.importorskip("torch")
    from synthfer.gan.api import tiny_generator
    from synthfer.generate.shard import plan_ws
    from synthfer.latent.directions import Directions, compute_directions

    torch.set_num_threads(1)
    G = tiny_generator(resolution=16, seed=3)
    d, _ = compute_directions(G, 300, 4, seed=1, batch_size=300, std_samples=200)
    directions = Directions(d["components"], d["std"], d["mean"], G.num_ws)
    spec = parse_seed_spec(seeds_data())
    plan = build_plan(spec, n_shards=1, num_ws=G.num_ws, n_directions=4)
    ws = plan_ws(G, directions, plan, batch_size=7).reshape(len(plan), -1).double()
    gaps = torch.cdist(ws, ws) + torch.eye(len(plan), dtype=ws.dtype) * 1e9
    assert float(gaps.min()) > 1e-3, "two plan rows render the same latent"
    # ... while the listed combinations, taken literally, would have repeated the unedited latent 28 times
    listed = sum(
        len(g.directions) * len(g.degrees) * len(g.seeds) * len(spec.truncation_psi) for g in spec.edits
    ) + len(spec.seeds) * len(spec.truncation_psi)
    assert listed - len(plan) == 28


def _directions_npz(path, n=12, num_ws=6):
    from synthfer.io import save_npz

    save_npz(
        path,
        components=np.eye(n, 16, dtype=np.float32),
        std=np.ones(n, np.float32),
        mean=np.zeros(16, np.float32),
        num_ws=np.int64(num_ws),
    )
    return path


def _write(path, data):
    path.write_text(yaml.safe_dump(data))
    return path


def test_seeds_check_refuses_a_direction_missing_from_the_workflows_directions(tmp_path, monkeypatch, capsys):
    from synthfer.cli import main

    seeds = _write(tmp_path / "seeds.yaml", seeds_data(edits=[{"directions": [999], "degrees": [1.0]}]))
    monkeypatch.chdir(tmp_path)
    # without the workflow's directions.npz nothing can be checked, and seeds-check says so
    assert main(["seeds-check", str(seeds)]) == 0
    assert "directions not checked" in capsys.readouterr().out
    # with it (the default path, as after a run), direction 999 of 12 is refused, naming the file
    _directions_npz((tmp_path / "results" / "latent").joinpath("directions.npz"))
    assert main(["seeds-check", str(seeds)]) == 1
    out = capsys.readouterr().out
    assert "generation.edits[0].directions: direction 999 does not exist in results/latent/directions.npz" in out
    assert "12 components, 0…11" in out and "OK" not in out
    # an explicit --directions, and --directions none to skip the check
    other = _directions_npz(tmp_path / "d1000.npz", n=1000)
    assert main(["seeds-check", str(seeds), "--directions", str(other)]) == 0
    assert f"directions checked against {other} (1000 components)" in capsys.readouterr().out
    assert main(["seeds-check", str(seeds), "--directions", "none"]) == 0


def test_seeds_check_reports_merges(tmp_path, capsys):
    from synthfer.cli import main

    seeds = _write(tmp_path / "seeds.yaml", seeds_data())
    assert main(["seeds-check", str(seeds), "--directions", "none"]) == 0
    out = capsys.readouterr().out
    assert "60 images" in out  # 14 + 14 + 16 + 16
    assert "merged 28 degree-0 edit(s)" in out and "merged 2 seed(s) listed under several AUs" in out


def test_plan_step_names_the_directions_file(tmp_path):
    seeds = _write(tmp_path / "seeds.yaml", seeds_data(edits=[{"directions": [0, 12], "degrees": [1.0]}]))
    npz = _directions_npz(tmp_path / "directions.npz")
    with pytest.raises(SeedSpecError) as exc:
        write_seed_plan(seeds, npz, tmp_path / "plan.csv", tmp_path / "labels.csv", n_shards=1)
    assert str(exc.value).startswith(
        f"{seeds}: generation.edits[0].directions: direction 12 does not exist in {npz} (12 components, 0…11)"
    )
    assert not (tmp_path / "plan.csv").exists()


# ------------------------------------------------------------------------------------- the reviewed network


def _network(path, content: bytes):
    path.write_bytes(content)
    import hashlib

    return path, hashlib.sha256(content).hexdigest()


def _exported(tmp_path, network_file, sha):
    text = format_seed_yaml(
        {"AU12": [4]}, [2], 0.7, [0], [-1.0, 0.0, 1.0], network={"file": network_file, "sha256": sha}
    )
    path = tmp_path / "seeds.yaml"
    path.write_text(text)
    return path


def test_exported_seed_list_carries_the_network(tmp_path):
    net, sha = _network(tmp_path / "net.pt", b"generator A")
    spec = load_seed_spec(_exported(tmp_path, "results/gan/network-final.pt", sha))
    assert spec.network_sha256 == sha and spec.network_file == "results/gan/network-final.pt"
    with pytest.raises(SeedSpecError, match=r"network\.sha256: 'abc' is not a sha256"):
        parse_seed_spec({**seeds_data(), "network": {"file": "x", "sha256": "abc"}})


def test_plan_step_refuses_seeds_reviewed_on_another_network(tmp_path):
    _, sha_a = _network(tmp_path / "a.pt", b"generator A")
    net_b, sha_b = _network(tmp_path / "b.pt", b"generator B (retrained)")
    seeds = _exported(tmp_path, "results/gan/network-final.pt", sha_a)
    with pytest.raises(NetworkMismatch) as exc:
        write_seed_plan(seeds, None, tmp_path / "plan.csv", tmp_path / "labels.csv", n_shards=1, network=net_b)
    msg = str(exc.value)
    assert "\n" not in msg
    assert f"{seeds} was reviewed on network results/gan/network-final.pt (sha256 {sha_a})" in msg
    assert f"but this run generates with {net_b} (sha256 {sha_b})" in msg and "seeds.allow_other_network" in msg
    assert not (tmp_path / "plan.csv").exists()
    # the explicit override generates, and records it
    n = write_seed_plan(
        seeds, None, tmp_path / "plan.csv", tmp_path / "labels.csv", n_shards=1, network=net_b, allow_other_network=True
    )
    assert n == len(read_plan(tmp_path / "plan.csv")) == 2 * 3  # unedited + direction 0 at ±1, per seed
    meta = json.loads((tmp_path / "plan.json").read_text())
    assert meta["network"] == {"file": str(net_b), "sha256": sha_b, "reviewed_on": sha_a, "check": "overridden"}


def test_plan_step_accepts_the_same_network_and_lists_without_one(tmp_path):
    net, sha = _network(tmp_path / "a.pt", b"generator A")
    seeds = _exported(tmp_path, str(net), sha)
    write_seed_plan(seeds, None, tmp_path / "plan.csv", tmp_path / "labels.csv", n_shards=1, network=net)
    assert json.loads((tmp_path / "plan.json").read_text())["network"]["check"] == "match"
    hand = _write(tmp_path / "hand.yaml", seeds_data())  # written by hand: no network recorded
    write_seed_plan(hand, None, tmp_path / "plan2.csv", tmp_path / "labels2.csv", n_shards=1, network=net)
    assert json.loads((tmp_path / "plan2.json").read_text())["network"]["check"] == "not recorded"


def test_seeds_check_network_option(tmp_path, capsys):
    from synthfer.cli import main

    _, sha_a = _network(tmp_path / "a.pt", b"generator A")
    net_b, _ = _network(tmp_path / "b.pt", b"generator B")
    seeds = _exported(tmp_path, "a.pt", sha_a)
    assert main(["seeds-check", str(seeds), "--directions", "none", "--network", str(net_b)]) == 1
    assert "was reviewed on network a.pt" in capsys.readouterr().out
    assert main(["seeds-check", str(seeds), "--directions", "none", "--network", str(tmp_path / "a.pt")]) == 0
