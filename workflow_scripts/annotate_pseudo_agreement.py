"""Rule annotate_pseudo_agreement: κ of every fold's model labels with the seed-ID labels, and pooled."""

from synthfer.annotate.pseudo import pseudo_agreement
from synthfer.logs import log_to

log_to(snakemake.log[0])
inp, p = snakemake.input, snakemake.params
pseudo_agreement(
    fold_labels=dict(zip(p.sets, inp.labels, strict=True)),
    seed_labels_csv=inp.seed_labels,
    seed_names_txt=inp.seed_names,
    out_csv=snakemake.output.agreement,
    out_html=snakemake.output.agreement_html,
    out_counts=snakemake.output.counts,
    out_json=snakemake.output.agreement_summary,
    rule=p.rule,
    threshold=p.threshold,
    seed=p.seed,
    n_boot=p.bootstrap,
    ci_level=p.ci_level,
)
