"""Rule annotate_pseudo: fold k's model labels for the synthetic_all images (real_only's fold-k model, rule
annotate.pseudo_rule), and their agreement with the seed-ID labels."""

from synthfer.annotate.pseudo import annotate_pseudo
from synthfer.logs import log_to

log_to(snakemake.log[0])
inp, p, wc = snakemake.input, snakemake.params, snakemake.wildcards
annotate_pseudo(
    predictions_csvs=list(inp.predictions),
    seed_labels_csv=inp.seed_labels,
    seed_names_txt=inp.seed_names,
    out_npy=snakemake.output.labels,
    out_names=snakemake.output.names,
    out_csv=snakemake.output.table,
    out_counts=snakemake.output.counts,
    out_plot=snakemake.output.plot,
    out_agreement=snakemake.output.agreement,
    out_thresholds=snakemake.output.thresholds,
    out_agreement_json=snakemake.output.agreement_summary,
    rule=p.rule,
    threshold=p.threshold,
    inner_predictions_csv=inp.get("inner"),
    fold=int(wc.fold),
    replicate=wc.rep,
    seed=p.seed,
    n_boot=p.bootstrap,
    ci_level=p.ci_level,
)
