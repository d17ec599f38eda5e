"""`python -m ganforge ...` (used by torchrun: `torchrun --nproc_per_node=2 -m ganforge train`)."""

import sys

from ganforge.cli import main

sys.exit(main())
