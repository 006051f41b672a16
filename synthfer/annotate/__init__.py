"""Semi-automated annotation: AU labels of generated images from their seed ID (and the plan)."""
