"""The user's exports as a controller's types and tags: ``--tags FILE`` (TOML/JSON), ``--l5x``
(Studio 5000 L5X, with ``l5x_data`` for initial values) and ``--csv`` (a tag export)."""
