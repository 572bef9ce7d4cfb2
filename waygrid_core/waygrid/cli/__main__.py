"""``python -m waygrid.cli``: the ``waygrid`` command."""

import sys

from . import main

sys.exit(main())
