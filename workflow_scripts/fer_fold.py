"""Rule fer_fold: train and validate one (variant, fold) of the EfficientNet-B0 AU classifier."""

from synthfer.fer.train import train_fold
from synthfer.logs import log_to

log_to(snakemake.log[0])
inp, p = snakemake.input, snakemake.params
synthetic = (
    {"labels": inp.syn_labels, "names": inp.syn_names, "images": inp.syn_images} if "syn_labels" in inp.keys() else None
)
train_fold(
    real_table=inp.labels,
    folds_csv=inp.folds,
    fold=int(snakemake.wildcards.fold),
    out_model=snakemake.output.model,
    out_predictions=snakemake.output.predictions,
    out_history=snakemake.output.history,
    out_info=snakemake.output.info,
    synthetic=synthetic,
    variant=snakemake.wildcards.variant,
    threads=snakemake.threads,
    **p.model,
    **p.train,
    seed=p.seed,
    image_root=p.image_root,
)
