# FER evaluation: subject-wise k-fold cross-validation of an EfficientNet-B0 AU classifier, one job per
# (variant, fold, replicate), then one evaluation over all folds, replicates and variants. Formats: docs/fer.md.
# real_only trains on the training subjects' real frames; every other variant (synthfer/variants.py) adds the
# annotation phase's labelled synthetic set (results/annotations/<variant>/; synthetic_pseudo's per fold). Every fold
# is tested on its own subjects' real frames, which no choice reads (fer.model_selection, docs/fer.md).

# The Snakefile includes this file only when fer.enabled is true.

from synthfer.fer.paths import prediction_paths, synthetic_inputs
from synthfer.variants import REAL_ONLY, parse_replicate, replicate_ids, wildcard_regex

FER = config["fer"]
FER_VARIANTS = RUN_VARIANTS  # fer.variants + select.ablations (rules/common.smk)
# Replicates of each (variant, fold): r0 … r<fer.repeats - 1>; the random control d<draw>r<repeat> for each of
# select.random_draws (synthfer.variants.replicate_ids). Outputs results/fer/{variant}/fold_{fold}/rep_{rep}/.
FER_REPLICATES = {
    v: replicate_ids(v, FER["repeats"], config["select"]["random_draws"])
    for v in dict.fromkeys([REAL_ONLY, *FER_VARIANTS])
}
FER_INNER = FER["model_selection"] == "inner"  # fer.folds >= 3 then: synthfer.config.check_config
FER_FOLDS = fold_ids(FER["folds"])
# The real labelled table the folds read: the DISFA import, the aligned copy of a table of photographs
# (fer.real.align: rules fer_align_shard + fer_align_table, so the images are DAG outputs), or the table itself.
FER_TABLE = FER["real"]["table"]
FER_ALIGN = FER["real"]["source"] == "table" and FER["real"]["align"]
FER_ALIGN_SHARDS = shard_ids(FER["real"]["align_shards"])
if FER["real"]["source"] == "disfa":
    FER_REAL_TABLE, FER_IMAGE_ROOT = results_path("fer/disfa/labels.csv"), None
elif FER_ALIGN:
    FER_REAL_TABLE, FER_IMAGE_ROOT = results_path("fer/aligned/labels.csv"), None
else:
    FER_REAL_TABLE, FER_IMAGE_ROOT = FER_TABLE, FER["real"]["image_root"]


# A local backbone weights file (e.g. the demo's pretrained resources/demo_fer/*.weights.h5) is an input,
# so replacing it re-runs the folds; 'imagenet' (a Keras download) and null are not files.
FER_WEIGHTS_INPUT = {} if FER["model"]["weights"] in (None, "imagenet") else {"weights": FER["model"]["weights"]}
FER_FIGURES = results_path("fer/figures")


localrules:
    fer_fold_table,
    fer_evaluate,
    fer_align_table,


rule fer_import_disfa:
    output:
        images=directory(results_path("fer/disfa/images")),
        labels=results_path("fer/disfa/labels.csv"),
        report=results_path("fer/disfa/import_report.csv"),
    log:
        "logs/fer_import_disfa/fer_import_disfa.log",
    benchmark:
        "benchmarks/rules/fer_import_disfa/fer_import_disfa.tsv"
    conda:
        FER_CONDA_ENV
    resources:
        mem_mb=mem_mb_per_attempt(4000),
        runtime=240,
    params:
        # DISFA is read-only reference data outside the DAG: its root is a param, checked when the job runs.
        root=FER["real"]["disfa"]["root"],
        camera=FER["real"]["disfa"]["camera"],
        frames=FER["real"]["disfa"]["frames"],
        sampling=FER["real"]["disfa"]["sampling"],
        threshold=FER["real"]["disfa"]["threshold"],
        size=FER["real"]["disfa"]["size"],
        seed=config["seed"],
        faces=config.get("faces", {}),
    script:
        "../workflow_scripts/fer_import_disfa.py"


rule fer_align_shard:
    input:
        table=FER_TABLE or [],
    output:
        crops=directory(results_path("fer/aligned/shards/{shard}")),
        report=results_path("fer/aligned/shards/{shard}.csv"),
    log:
        "logs/fer_align_shard/{shard}.log",
    benchmark:
        "benchmarks/rules/fer_align_shard/{shard}.tsv"
    wildcard_constraints:
        shard=r"\d{3}",
    conda:
        "../envs/faces.yaml"
    resources:
        mem_mb=mem_mb_per_attempt(2000),
        runtime=120,
    params:
        n_shards=FER["real"]["align_shards"],
        image_root=FER["real"]["image_root"],
        settings=FACES_SETTINGS,
    script:
        "../workflow_scripts/fer_align_shard.py"


rule fer_align_table:
    input:
        table=FER_TABLE or [],
        crops=expand(results_path("fer/aligned/shards/{shard}"), shard=FER_ALIGN_SHARDS),
        reports=expand(results_path("fer/aligned/shards/{shard}.csv"), shard=FER_ALIGN_SHARDS),
    output:
        images=directory(results_path("fer/aligned/images")),
        labels=results_path("fer/aligned/labels.csv"),
        report=results_path("fer/aligned/align_report.csv"),
    log:
        "logs/fer_align_table/fer_align_table.log",
    benchmark:
        "benchmarks/rules/fer_align_table/fer_align_table.tsv"
    conda:
        "../envs/faces.yaml"
    params:
        image_root=FER["real"]["image_root"],
        settings=FACES_SETTINGS,
    script:
        "../workflow_scripts/fer_align_table.py"


rule fer_fold_table:
    input:
        labels=FER_REAL_TABLE,
    output:
        folds=results_path("fer/folds.csv"),
    log:
        "logs/fer_fold_table/fer_fold_table.log",
    benchmark:
        "benchmarks/rules/fer_fold_table/fer_fold_table.tsv"
    conda:
        FER_CONDA_ENV
    params:
        k=FER["folds"],
    script:
        "../workflow_scripts/fer_fold_table.py"


# One model per (variant, fold, replicate). Fold {fold}'s labels are read only into predictions.csv: epochs are
# chosen on the inner validation fold (fer.model_selection: inner) or fixed (docs/fer.md "Model selection").
rule fer_fold:
    input:
        unpack(
            lambda wc: {
                **{k: results_path(p) for k, p in synthetic_inputs(wc.variant, wc.fold, wc.rep).items()},
                **FER_WEIGHTS_INPUT,
            }
        ),
        labels=FER_REAL_TABLE,
        folds=results_path("fer/folds.csv"),
    output:
        **(
            {"inner_predictions": results_path("fer/{variant}/fold_{fold}/rep_{rep}/inner_predictions.csv")}
            if FER_INNER
            else {}
        ),
        model=results_path("fer/{variant}/fold_{fold}/rep_{rep}/model.keras"),
        predictions=results_path("fer/{variant}/fold_{fold}/rep_{rep}/predictions.csv"),
        history=results_path("fer/{variant}/fold_{fold}/rep_{rep}/history.csv"),
        info=results_path("fer/{variant}/fold_{fold}/rep_{rep}/train.json"),
    log:
        "logs/fer_fold/{variant}_{fold}_{rep}.log",
    benchmark:
        "benchmarks/rules/fer_fold/{variant}_{fold}_{rep}.tsv"
    wildcard_constraints:
        variant=wildcard_regex(FER_REPLICATES),
        rep=wildcard_regex({r for reps in FER_REPLICATES.values() for r in reps}),
    # Below every other rule: on a few cores the fold jobs (many, independent) fill the gaps while the chain
    # that makes the synthetic training sets (GAN → generation → selection → labels) runs first.
    priority: -1
    conda:
        FER_CONDA_ENV
    threads: FER["threads"]
    resources:
        gpu=1,
        # The Slurm profile adds the GPU (set-resources: fer_fold: gpu: 1).
        mem_mb=mem_mb_per_attempt(FER["mem_mb"]),
        runtime=FER["runtime"],
    params:
        fer={k: FER[k] for k in ("model", "train", "model_selection")},  # synthfer.fer.train.FoldOptions.from_config
        seed=config["seed"],
        repeat=lambda wc: parse_replicate(wc.rep)[1],
        image_root=FER_IMAGE_ROOT,
    script:
        "../workflow_scripts/fer_fold.py"


rule fer_evaluate:
    input:
        **{
            f"pred_{v}": [results_path(p) for p in prediction_paths(v, FER_FOLDS, FER_REPLICATES[v])]
            for v in FER_VARIANTS
        },
    output:
        **{
            f"roc_{v}": report(
                f"{FER_FIGURES}/roc_{v}.png",
                caption="report/fer_roc.rst",
                category="7 FER",
                subcategory="ROC curves",
                labels={"variant": v},
            )
            for v in FER_VARIANTS
        },
        summary=results_path("fer/summary.csv"),
        fold_aucs=results_path("fer/fold_aucs.csv"),
        replicate_aucs=results_path("fer/replicate_aucs.csv"),
        replicate_spread=report(
            results_path("fer/replicate_spread.csv"),
            caption="report/fer_replicate_spread.rst",
            category="7 FER",
        ),
        roc=results_path("fer/roc_curves.csv"),
        comparisons=report(
            results_path("fer/comparisons.csv"),
            caption="report/fer_comparisons.rst",
            category="7 FER",
        ),
        primary=results_path("fer/primary.json"),
        forest=report(
            f"{FER_FIGURES}/forest.png",
            caption="report/fer_forest.rst",
            category="0 answer",
        ),
        auc_figure=report(
            f"{FER_FIGURES}/auc_per_au.png",
            caption="report/fer_auc_per_au.rst",
            category="7 FER",
        ),
    log:
        "logs/fer_evaluate/fer_evaluate.log",
    benchmark:
        "benchmarks/rules/fer_evaluate/fer_evaluate.tsv"
    conda:
        FER_CONDA_ENV
    params:
        variants=FER_VARIANTS,
        ci_level=FER["evaluate"]["ci_level"],
        baseline_neutral=FER["evaluate"]["baseline_neutral"],
        primary=FER["evaluate"]["primary"],
        ci_method=FER["evaluate"]["ci_method"],
        n_bootstrap=FER["evaluate"]["n_bootstrap"],
        test_train_ratio=FER["evaluate"]["test_train_ratio"],
        alpha=FER["evaluate"]["alpha"],
        power=FER["evaluate"]["power"],
        seed=config["seed"],
    script:
        "../workflow_scripts/fer_evaluate.py"


rule fer_predict:
    input:
        # every fold model of the variant (all replicates) votes
        models=lambda wc: [
            results_path(p.replace("predictions.csv", "model.keras"))
            for p in prediction_paths(wc.variant, FER_FOLDS, FER_REPLICATES[wc.variant])
        ],
        images=FER["predict"]["images"] or [],
    output:
        table=results_path("fer/predict/{variant}.csv"),
        meta=results_path("fer/predict/{variant}.csv.json"),
    log:
        "logs/fer_predict/{variant}.log",
    benchmark:
        "benchmarks/rules/fer_predict/{variant}.tsv"
    conda:
        FER_CONDA_ENV
    threads: FER["threads"]
    resources:
        gpu=1,
        mem_mb=mem_mb_per_attempt(FER["mem_mb"]),
        runtime=FER["runtime"],
    params:
        threshold=FER["predict"]["threshold"],
        batch_size=FER["predict"]["batch_size"],
        backend=FER["model"]["backend"],
    script:
        "../workflow_scripts/fer_predict.py"


TARGETS["fer"] = [
    results_path("fer/folds.csv"),
    results_path("fer/summary.csv"),
    results_path("fer/fold_aucs.csv"),
    results_path("fer/roc_curves.csv"),
    results_path("fer/replicate_aucs.csv"),
    results_path("fer/replicate_spread.csv"),
    results_path("fer/comparisons.csv"),
    results_path("fer/primary.json"),
    f"{FER_FIGURES}/forest.png",
    f"{FER_FIGURES}/auc_per_au.png",
    *expand(f"{FER_FIGURES}/roc_{{variant}}.png", variant=FER_VARIANTS),
] + ([results_path("fer/predict/{}.csv").format(FER["predict"]["variant"])] if FER["predict"]["images"] else [])
