"""Rule annotate_pseudo: fold k's model labels for the synthetic_all images (real_only's fold-k model, rule
annotate.pseudo_rule), and their agreement with the seed-ID labels."""

from synthfer.annotate.pseudo import annotate_pseudo
from synthfer.logs import log_to

log_to(snakemake.log[0])
inp, out, p, wc = snakemake.input, snakemake.output, snakemake.params, snakemake.wildcards
annotate_pseudo(
    predictions_csvs=list(inp.predictions),
    seed_labels_csv=inp.seed_labels,
    seed_names_txt=inp.seed_names,
    out_npy=out.labels,
    out_names=out.names,
    out_csv=out.table,
    out_counts=out.counts,
    out_plot=out.plot,
    out_agreement=out.agreement,
    out_thresholds=out.thresholds,
    out_agreement_json=out.agreement_summary,
    rule=p.rule,
    threshold=p.threshold,
    inner_predictions_csv=inp.get("inner"),
    fold=int(wc.fold),
    replicate=wc.rep,
    seed=p.seed,
    n_boot=p.bootstrap,
    ci_level=p.ci_level,
)
