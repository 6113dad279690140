"""The CLI's subcommands, one module each (``harness.cli`` dispatches to them)."""
