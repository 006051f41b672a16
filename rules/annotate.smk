# Rules of the annotate phase.
