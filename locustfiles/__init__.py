"""The bundled locustfiles. They install as the package ``harness_locustfiles`` (pyproject's
package-dir), so ``ws-harness load heartbeat_latency`` finds them by name; from a checkout,
``locust -f locustfiles/heartbeat_latency.py`` runs them as plain files."""
