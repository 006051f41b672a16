"""Latent exploration: GANSpace directions in W, and review material for the human annotator."""
