"""The fuzz and security suites, shipped with the plugin so they run against any server.

Selected with ``-m fuzz``, ``-m security`` or ``-m "fuzz or security"`` (or by pointing at
this folder): ``pytest --pyargs harness_scenarios --ws-config my.yaml -m "fuzz or security"``
or ``ws-harness run -m fuzz``. Everything they use comes from the contract and the config
(JWT secret: ``security.jwt_secret``; tolerated deviations: ``--ws-fuzz-deviations``).
"""
