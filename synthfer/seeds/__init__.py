"""Reviewed seed lists (``seeds.yaml``) and the generation plan derived from them.

:mod:`synthfer.seeds.spec` parses and validates the seed-list YAML (the format the review page
exports); :mod:`synthfer.seeds.plan` turns it into ``results/seeds/plan.csv``, the single source of
truth for generated image names and their labels.
"""
