"""Rule svr_train: ε-SVR severity model on graded degradations of the real crops, validated on held-out crops."""

from synthfer.iqa.svr import train_svr
from synthfer.logs import log_to

log_to(snakemake.log[0])
train_svr(
    references_npz=snakemake.input.references,
    model_path=snakemake.output.model,
    validation_json=snakemake.output.validation,
    predictions_csv=snakemake.output.predictions,
    levels=dict(snakemake.params.levels),
    train_fraction=snakemake.params.train_fraction,
    max_crops=snakemake.params.max_crops,
    c=snakemake.params.C,
    epsilon=snakemake.params.epsilon,
    gamma=snakemake.params.gamma,
    seed=snakemake.params.seed,
)
