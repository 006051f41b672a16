"""``python -m synthfer``: the ``synthfer`` command (for environments where the script is not on PATH)."""

import sys

from synthfer.cli import main

sys.exit(main())
