"""The ``flotilla`` command: click for parsing, rich for what people read."""
