"""Rule gan_train: train (or resume) StyleGAN2-ADA; fails with a 'resume' message if the time budget ends first."""

from synthfer.gan.train import train_rule
from synthfer.logs import log_to

log_to(snakemake.log[0])
train_rule(
    dataset=snakemake.input.dataset,
    run_dir=snakemake.params.run_dir,
    final_path=snakemake.output.final,
    log_path=snakemake.output.training_log,
    fakes_path=snakemake.output.fakes,
    options=dict(snakemake.params.options),
    time_limit_minutes=snakemake.params.time_limit_minutes,
    runtime_minutes=getattr(snakemake.resources, "runtime", None),
    resume_from=snakemake.params.resume_from,
    start_from=snakemake.params.start_from,
    device=snakemake.params.device,
    threads=snakemake.threads,
)
