"""``python -m nova_app.cli``: the same as the ``nova`` command."""

from nova_app.cli import main

raise SystemExit(main())
