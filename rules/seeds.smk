# Rules of the seeds phase.
