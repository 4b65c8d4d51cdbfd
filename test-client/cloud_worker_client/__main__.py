"""``python3 -m cloud_worker_client``: the same as the ``cloud-worker-client`` command."""

import sys

from .cli import main

sys.exit(main())
