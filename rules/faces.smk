# Rules of the faces phase.
