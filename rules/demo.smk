# Rules of the demo phase.
