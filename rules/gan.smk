# Rules of the gan phase.
