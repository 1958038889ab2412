"""Command-line interface: one module per command group; only this package prints."""
