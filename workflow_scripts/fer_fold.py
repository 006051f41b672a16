"""Rule fer_fold: train one (variant, fold, replicate) of the EfficientNet-B0 AU classifier and predict the fold."""

from synthfer.fer.train import FoldOptions, FoldOutputs, train_fold
from synthfer.logs import log_to

log_to(snakemake.log[0])
inp, p, wc = snakemake.input, snakemake.params, snakemake.wildcards
synthetic = (
    {"labels": inp.syn_labels, "names": inp.syn_names, "images": inp.syn_images} if "syn_labels" in inp.keys() else None
)
train_fold(
    real_table=inp.labels,
    folds_csv=inp.folds,
    fold=int(wc.fold),
    out=FoldOutputs(
        snakemake.output.model,
        snakemake.output.predictions,
        snakemake.output.history,
        snakemake.output.info,
        snakemake.output.inner_predictions if "inner_predictions" in snakemake.output.keys() else None,
    ),
    opts=FoldOptions.from_config(p.fer, p.seed),
    synthetic=synthetic,
    variant=wc.variant,
    replicate=wc.rep,
    repeat=p.repeat,
    threads=snakemake.threads,
    image_root=p.image_root,
)
