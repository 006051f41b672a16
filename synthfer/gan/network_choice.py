"""Which network the review, latent directions and generation use (rule ``gan_network``), and the face gate.

``gan.network`` picks it:

- ``final`` (default): ``network-final.pt``, the EMA generator at ``gan.total_kimg``; needs no FID.
- ``best_fid``: the training snapshot with the lowest FID in ``snapshot_fid.csv`` among the snapshots whose
  face check passed (detection rate ≥ ``gan.face_check.min_detection_rate``); needs ``gan.snapshot_fid.enabled``
  (checked when the config is read, :func:`check_network_setting`).
- an integer: the snapshot ``network-snapshot-{kimg:06d}.pt`` of that kimg (it must exist,
  :func:`synthfer.gan.checkpoint.snapshot_for_kimg` lists the available ones).

The chosen file is **copied** byte for byte to ``results/gan/network-selected.pt`` (nothing is moved or deleted;
a copy, not a link, so its modification time is the selection's) only if its face check passes — otherwise
:class:`~synthfer.gan.face_check.NoFacesError` stops the workflow before the review. The sidecar
``network-selected.json`` names the source, its kimg, FID (``best_fid`` only), detection rate and why it was
chosen (:func:`select_network`).

This module's top level imports nothing heavy: :func:`check_network_setting` runs at Snakefile parse time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthfer import ConfigError
from synthfer.io import PathLike

NETWORK_NAMES = ("final", "best_fid")


def check_network_setting(network: Any, snapshot_fid_enabled: bool) -> None:
    """Raise :class:`ConfigError` when ``gan.network`` cannot work with the rest of the config."""
    if isinstance(network, bool) or not (network in NETWORK_NAMES or (isinstance(network, int) and network >= 0)):
        raise ConfigError(
            f"config key 'gan.network': {network!r} is not a network choice. Fix: use 'final', 'best_fid' "
            "or the kimg of a training snapshot (an integer, e.g. 40 for network-snapshot-000040.pt)."
        )
    if network == "best_fid" and not snapshot_fid_enabled:
        raise ConfigError(
            "config key 'gan.network' is 'best_fid' but 'gan.snapshot_fid.enabled' is false: the best snapshot is "
            "the one with the lowest FID, which only the snapshot-FID rule measures. Fix: set "
            "gan.snapshot_fid.enabled: true, or set gan.network to 'final' or a snapshot's kimg."
        )


def face_check_snapshots(network: Any, snapshot_fid_enabled: bool) -> str | list[int]:
    """Which snapshots besides ``network-final.pt`` get a face-check sample: ``"all"`` with snapshot FID
    on (the rate joins ``snapshot_fid.csv`` and ``best_fid`` needs it), else the one ``gan.network`` names."""
    if snapshot_fid_enabled:
        return "all"
    return [int(network)] if network not in NETWORK_NAMES else []


def choose_network(network: Any, rates, min_rate: float, fid_table=None) -> dict[str, Any]:
    """The choice as a dict (``network``, ``checkpoint``, ``kimg``, ``fid``, ``face_rate``, ``n_faces``,
    ``n_images``, ``reason``, and ``candidates`` for ``best_fid``) from the per-network face rates
    (:func:`synthfer.gan.face_check.face_rates`) and, for ``best_fid``, the snapshot-FID table. Raises
    :class:`~synthfer.gan.face_check.NoFacesError` when the chosen network (or, for ``best_fid``, every
    snapshot) fails the face check; the message says how to fix it."""
    from synthfer.gan.face_check import FINAL_TAG, NoFacesError, no_faces_message, rates_summary, snapshot_tag

    by_tag = rates.set_index("network")
    if network == "best_fid":
        if fid_table is None or fid_table.empty:
            raise ValueError("gan.network 'best_fid' needs the snapshot-FID table (gan.snapshot_fid.enabled)")
        snaps = rates[rates["network"] != FINAL_TAG].set_index("checkpoint")
        cand = fid_table[["kimg", "snapshot", "fid"]].copy()
        lacking = sorted(set(cand["snapshot"]) - set(snaps.index))
        if lacking:
            raise ValueError(f"no face-check sample of {', '.join(lacking)}: re-run the face check of the snapshots")
        cand["face_rate"] = snaps.loc[cand["snapshot"], "face_rate"].to_numpy()
        cand["passed"] = cand["face_rate"] >= min_rate
        ok = cand[cand["passed"] & cand["fid"].notna()]
        if ok.empty:
            evaluated = snaps.loc[cand["snapshot"]].reset_index()
            best = evaluated.sort_values(["face_rate", "kimg"], ascending=[False, True]).iloc[0]
            raise NoFacesError(
                no_faces_message(
                    f"None of the {len(cand)} training snapshots makes faces yet; the best, {best['checkpoint']}",
                    int(best["n_faces"]), int(best["n_images"]), _psi(rates), min_rate,
                    "results/gan/face_check/samples/kimg*.png",
                )
                + f" Detection rate by snapshot: {rates_summary(evaluated)}."
            )
        row = ok.loc[ok["fid"].idxmin()]
        tag = snapshot_tag(int(row["kimg"]))
        reason = (
            f"lowest FID ({row['fid']:.4g}) of the {len(ok)} of {len(cand)} snapshots whose face check passed "
            f"(detection rate ≥ {min_rate:g})"
        )
        choice = {"fid": float(row["fid"]), "candidates": cand.to_dict(orient="records")}
    elif network == "final":
        tag, reason, choice = FINAL_TAG, "gan.network is 'final': the EMA generator at gan.total_kimg", {"fid": None}
    else:
        tag = snapshot_tag(int(network))
        reason, choice = f"gan.network names the snapshot of kimg {int(network)}", {"fid": None}
    if tag not in by_tag.index:
        raise ValueError(f"no face-check sample of network {tag!r}: re-run the face check")
    r = by_tag.loc[tag]
    if r["face_rate"] < min_rate:
        if tag == FINAL_TAG:
            at = "" if r["kimg"] != r["kimg"] else f", {r['kimg']:g} kimg"  # NaN: a generator-only file
            what = f"The trained network (network-final.pt{at}) does not make faces yet"
        else:
            what = f"The snapshot of kimg {int(r['kimg'])} ({r['checkpoint']}) does not make faces yet"
        raise NoFacesError(
            no_faces_message(what, int(r["n_faces"]), int(r["n_images"]), _psi(rates), min_rate,
                             f"results/gan/face_check/samples/{tag}_*.png")  # fmt: skip
        )
    return {
        "network": network,
        "tag": tag,
        "checkpoint": str(r["checkpoint"]),
        "kimg": float(r["kimg"]),
        "face_rate": float(r["face_rate"]),
        "n_faces": int(r["n_faces"]),
        "n_images": int(r["n_images"]),
        "reason": reason,
        **choice,
    }


def _psi(rates) -> float:
    return float(rates.attrs.get("truncation_psi", float("nan")))


def select_network(
    network: Any,
    final: PathLike,
    snapshot_dir: PathLike,
    samples_csv: PathLike,
    detections_csv: PathLike,
    out_pt: PathLike,
    out_json: PathLike,
    min_detection_rate: float = 0.5,
    snapshot_fid_csv: PathLike | None = None,
    resolution: int | None = None,
    samples_json: PathLike | None = None,
) -> dict[str, Any]:
    """Rule ``gan_network``: choose (:func:`choose_network`), gate on the face check, copy the chosen file to
    ``out_pt`` and write ``out_json``. ``resolution`` (``gan.resolution``) is checked against the network's
    image size: the IQA references are made at that size before any image is generated. What the gate needs
    to know about each network comes from the samples' sidecar (``samples_json``, default beside
    ``samples_csv``), so this light rule imports no torch."""
    import json
    import shutil

    from synthfer.gan.face_check import FINAL_TAG, NoFacesError, face_rates, sample_settings
    from synthfer.io import atomic_path, jsonable, provenance, read_table, sha256_file, write_json
    from synthfer.logs import get_logger

    log = get_logger(__name__)
    if not 0 <= min_detection_rate <= 1:
        raise ValueError(f"gan.face_check.min_detection_rate must be in [0, 1], got {min_detection_rate}")
    if network not in NETWORK_NAMES:
        from synthfer.gan.checkpoint import snapshot_for_kimg

        snapshot_for_kimg(snapshot_dir, int(network))  # it must exist: the error lists the kimgs that do
    rates = face_rates(samples_csv, detections_csv)
    sample = sample_settings(samples_csv)
    rates.attrs["truncation_psi"] = sample["truncation_psi"]
    for r in rates.itertuples():
        log.info("face check %s (%s): %d/%d faces (%.0f%%)", r.network, r.checkpoint, r.n_faces, r.n_images,
                 100 * r.face_rate)  # fmt: skip
    fid_table = read_table(snapshot_fid_csv) if snapshot_fid_csv else None
    try:
        choice = choose_network(network, rates, min_detection_rate, fid_table)
    except NoFacesError as exc:
        log.error("%s", exc)  # into the rule's log too, which Snakemake shows for a failed job
        raise
    source = Path(final) if choice["tag"] == FINAL_TAG else Path(snapshot_dir) / choice["checkpoint"]
    sidecar = json.loads(Path(samples_json or Path(samples_csv).with_suffix(".json")).read_text())
    described = {n["network"]: n for n in sidecar["networks"]}[choice["tag"]]
    if Path(described["checkpoint"]).name != source.name:
        raise ValueError(f"{samples_csv}: the face-check sample of {choice['tag']} is of {described['checkpoint']}, "
                         f"not {source}: re-run the face check")  # fmt: skip
    size = described["img_resolution"]
    if resolution is not None and int(size) != int(resolution):
        raise ValueError(
            f"{source}: the network makes {size}² images but gan.resolution is {resolution}; the IQA references "
            "are made at gan.resolution. Fix: choose a network of this run or set gan.resolution to match."
        )
    with atomic_path(out_pt) as tmp:
        shutil.copyfile(source, tmp)
    info = {
        **{k: v for k, v in choice.items() if k != "tag"},
        "source": str(source),
        # the snapshot whose EMA generator this is (network-final.pt is the last snapshot's G_ema)
        "snapshot": described.get("snapshot"),
        "sha256": sha256_file(out_pt),
        "img_resolution": int(size),
        "face_check": {**sample, "min_detection_rate": float(min_detection_rate), "passed": True},
        "face_rates": rates.to_dict(orient="records"),
        "provenance": provenance(),
    }
    write_json(out_json, jsonable(info))
    log.info("selected %s (%s): %s", source, choice["network"], choice["reason"])
    return info
