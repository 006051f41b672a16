# Rules of the select phase.
