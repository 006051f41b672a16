"""Put this folder on PYTHONPATH to make importing a heavy framework fail loudly.

Used by tests/test_workflow.py to prove that parsing the Snakefile (dry-run, rulegraph, lint)
imports no torch, tensorflow, keras, cv2 or dlib.
"""

import importlib.abc
import sys

FORBIDDEN = {"torch", "tensorflow", "keras", "cv2", "dlib", "jax"}


class _Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in FORBIDDEN:
            raise ImportError(f"heavy import at parse time: {fullname}")
        return None


sys.meta_path.insert(0, _Refuse())
