# Rules of the iqa phase.
