"""The composing top: the `fleetcare` root command, the demo and the status page.

Everything here imports the stages; nothing below imports it (see the import-linter
contracts in pyproject.toml).

- ``cli``   the root command: attaches every stage's commands; ``main`` is the console script
- ``demo``  ``fleetcare demo``: the pipeline end to end, stage by stage
- ``web``   ``fleetcare serve``: the read-only status page and JSON summary
- ``notebook`` ``fleetcare notebook`` and the database connection the analysts' notebooks open
"""
