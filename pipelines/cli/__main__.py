"""`python -m pipelines.cli`: the same as the `helpspace` script."""

import sys

from . import main

sys.exit(main())
