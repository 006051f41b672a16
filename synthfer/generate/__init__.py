"""Seed-named image generation from the plan (sharded) and the merged synthetic manifest."""
