"""pytest plugin (registered as the ``pytest11`` entry point ``ghl_async``)."""
