# Rules of the latent phase.
