"""The Typer layer: parses options, calls the engine, renders with Rich. No engine logic lives here."""
