"""The report's landing page: the run's answer (per AU and training set) and its key counts, built from the
files the phases wrote (:mod:`synthfer.report.landing`)."""
