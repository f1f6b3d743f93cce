"""``python -m nova_app``: the same as the ``nova`` command."""

from nova_app.cli import main

raise SystemExit(main())
