# Rules of the generate phase.
