"""``python -m nova_graph.cli``: the same as the ``nova`` command."""

from nova_graph.cli import main

raise SystemExit(main())
