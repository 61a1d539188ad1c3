"""``python -m twinflow`` is the ``twinflow`` command."""

import sys

from twinflow.cli import main

sys.exit(main())
