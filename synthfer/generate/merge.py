"""Rule ``generate_merge``: join the shards, the synthetic face filter and the plan's labels.

Outputs
* ``results/synthetic/raw/{name}.png`` — hard links to the shard images (copies across file
  systems); the images themselves are never rewritten.
* ``results/synthetic/manifest.csv`` — one row per planned image, in plan order, columns
  :data:`synthfer.synthetic_manifest.MANIFEST_COLUMNS`: ``name, file`` (``raw/{name}.png``, relative to
  ``results/synthetic``), ``seed, order, direction, degree, psi, shard, sha256, face_ok`` (bool), ``face_reason`` (str, ''
  when ok), ``AU1 … AU15, neutral`` (0/1 from the plan).
* ``results/synthetic/manifest.json`` — counts (per shard, face-filter reasons) and provenance.

Every phase reads the manifest with :func:`synthfer.synthetic_manifest.read_manifest` (the one reader,
beside the columns, in a core module below every phase that reads it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from synthfer.io import PathLike
from synthfer.logs import Progress, get_logger
from synthfer.synthetic_manifest import MANIFEST_COLUMNS

log = get_logger(__name__)


def merge_manifest(
    plan, shard_tables: Sequence, face_tables: Sequence, shard_paths: Sequence[str], face_paths: Sequence[str]
):
    """Return the merged manifest DataFrame; raise naming the file on any inconsistency."""
    import pandas as pd

    from synthfer.io import bool_column
    from synthfer.seeds.plan import parse_name

    shards = []
    for df, path in zip(shard_tables, shard_paths, strict=True):
        for col in ("name", "file", "sha256", "shard"):
            if col not in df.columns:
                raise ValueError(f"{path}: shard manifest lacks column {col!r}")
        shards.append(df.assign(_source=str(path)))
    shard_df = (
        pd.concat(shards, ignore_index=True)
        if shards
        else pd.DataFrame(columns=["name", "file", "sha256", "shard", "_source"])
    )
    dup = shard_df["name"].duplicated(keep=False)
    if dup.any():
        row = shard_df[dup].iloc[0]
        raise ValueError(
            f"image {row['name']!r} appears in more than one shard manifest ({', '.join(sorted(set(shard_df[dup]['_source'])))})"
        )
    missing = sorted(set(plan["name"]) - set(shard_df["name"]), key=lambda n: parse_name(n)[1])
    if missing:
        raise ValueError(
            f"{len(missing)} planned image(s) missing from the shard manifests, first {missing[0]!r} (re-run generate_shard)"
        )
    extra = sorted(set(shard_df["name"]) - set(plan["name"]))
    if extra:
        raise ValueError(
            f"shard manifest(s) contain {len(extra)} image(s) not in the plan, first {extra[0]!r} (stale shard?)"
        )

    faces = []
    for df, path in zip(face_tables, face_paths, strict=True):
        for col in ("name", "face_ok", "face_reason"):
            if col not in df.columns:
                raise ValueError(f"{path}: face-filter table lacks column {col!r}")
        faces.append(
            pd.DataFrame(
                {
                    "name": df["name"].astype(str),
                    "face_ok": bool_column(df, "face_ok", path),
                    "face_reason": df["face_reason"].fillna("").astype(str),
                    "_fsource": str(path),
                }
            )
        )
    face_df = (
        pd.concat(faces, ignore_index=True)
        if faces
        else pd.DataFrame(columns=["name", "face_ok", "face_reason", "_fsource"])
    )
    dup = face_df["name"].duplicated(keep=False)
    if dup.any():
        raise ValueError(
            f"image {face_df[dup]['name'].iloc[0]!r} appears twice in the face-filter tables ({', '.join(sorted(set(face_df[dup]['_fsource'])))})"
        )
    nofilter = sorted(set(plan["name"]) - set(face_df["name"]), key=lambda n: parse_name(n)[1])
    if nofilter:
        raise ValueError(
            f"{len(nofilter)} generated image(s) have no face-filter result, first {nofilter[0]!r} (re-run faces_filter_synthetic)"
        )

    m = plan.merge(
        shard_df[["name", "file", "sha256"]].rename(columns={"file": "shard_file"}),
        on="name",
        how="left",
        validate="1:1",
    )
    m = m.merge(face_df[["name", "face_ok", "face_reason"]], on="name", how="left", validate="1:1")
    m["file"] = "raw/" + m["name"] + ".png"
    m["face_ok"] = m["face_ok"].astype(bool)
    m.loc[m["face_ok"], "face_reason"] = ""
    m = m.sort_values("order").reset_index(drop=True)
    return m


def generate_merge(
    plan_csv: PathLike,
    shard_manifests: Sequence[PathLike],
    shard_dirs: Sequence[PathLike],
    face_filters: Sequence[PathLike],
    raw_dir: PathLike,
    manifest_path: PathLike,
    meta_path: PathLike,
) -> int:
    """Rule ``generate_merge``: link every shard image into ``raw_dir`` and write the manifest."""
    import pandas as pd

    from synthfer.io import link_or_copy, provenance, write_json, write_table
    from synthfer.seeds.plan import read_plan

    plan = read_plan(plan_csv)
    shard_tables = [pd.read_csv(p, dtype={"name": str}) for p in shard_manifests]
    from synthfer.faces.pipeline import read_face_filter

    face_tables = [read_face_filter(p) for p in face_filters]
    merged = merge_manifest(
        plan, shard_tables, face_tables, [str(p) for p in shard_manifests], [str(p) for p in face_filters]
    )
    shard_root = {int(Path(d).name): Path(d) for d in shard_dirs}
    raw = Path(raw_dir)
    raw.mkdir(parents=True, exist_ok=True)
    progress = Progress(log, len(merged), "linked images")
    for row in merged.itertuples(index=False):
        src = shard_root[int(row.shard)] / f"{row.name}.png"
        if not src.is_file():
            raise FileNotFoundError(
                f"{src}: listed in the shard {int(row.shard):03d} manifest but missing on disk (re-run generate_shard)"
            )
        link_or_copy(src, raw / f"{row.name}.png")
        progress.update()
    out = merged[MANIFEST_COLUMNS]
    write_table(manifest_path, out)
    reasons = out.loc[~out["face_ok"], "face_reason"].value_counts().to_dict()
    write_json(
        meta_path,
        {
            "n_images": len(out),
            "n_face_ok": int(out["face_ok"].sum()),
            "face_reasons": {str(k): int(v) for k, v in reasons.items()},
            "per_shard": {f"{int(k):03d}": int(v) for k, v in out.groupby("shard").size().items()},
            "seeds": sorted(set(int(s) for s in out["seed"])),
            "provenance": provenance(),
        },
    )
    log.info(
        "manifest: %d images, %d pass the face filter; rejected by reason %s",
        len(out),
        int(out["face_ok"].sum()),
        reasons,
    )
    return len(out)
