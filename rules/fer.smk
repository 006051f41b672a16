# Rules of the fer phase.
