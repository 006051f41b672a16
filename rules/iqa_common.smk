# Input functions of the iqa/select rules: the per-batch files behind the iqa_batches checkpoint.
# (Snakemake's linter wants functions apart from rules.)
from synthfer.iqa.batches import batch_ids as _iqa_batch_ids  # standard library only


def iqa_batches(wildcards=None):
    """The {batch} ids of the checkpoint's batches.csv (defers the DAG until it exists)."""
    return _iqa_batch_ids(checkpoints.iqa_batches.get().output.batches)


def iqa_score_tables(wildcards):
    return expand(results_path("iqa/scores/batch_{batch}.parquet"), batch=iqa_batches())


def iqa_batch_features(wildcards):
    return expand(
        results_path("iqa/features/{extractor}/batch_{batch}.npz"), extractor=wildcards.extractor, batch=iqa_batches()
    )
