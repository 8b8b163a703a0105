"""``python -m linearlab``: the same as the ``linearlab`` command."""

import sys

from linearlab.cli import main

sys.exit(main())
