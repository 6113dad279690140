"""The pytest plugin\x27s implementation (harness.pytest_plugin only declares options)."""
