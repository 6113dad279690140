"""Property-based fuzzing, stateful push testing and security checks (issue 5).

One module per job, lowest layer first:

    schemas      self-contained JSON Schemas for the contract's messages ($refs inlined)
    payloads     what a fuzz example sends and what the contract demands back (pure data)
    compiled     fast strategies for the usual JSON Schema subset, built once
    strategies   Hypothesis strategies for *valid* client messages, from the schemas
    mutations    strategies for *invalid* frames: wrong types, huge, deep, unicode, binary...
    properties   pure checks of an observed exchange -> findings (no I/O)
    driver       the I/O: one event loop and one reused connection per test module; routes
                 by x-auth role, users from the config, sessions from harness.protocol
    reproducer   a one-line command that replays a failing frame
    stateful     a RuleBasedStateMachine checking who receives which push
    security     origin, token, path, size, burst and slowloris checks -> verdicts
    profiles     the ci / thorough / replay Hypothesis profiles and the example database
    fixtures     pytest fixtures wiring the above to the harness plugin
    plugin       when the shipped suite (``harness_scenarios/fuzz``) is collected, the
                 fixtures and profiles registered, and the rate per fuzz test reported

Every connection is judged by the protocol core (``harness.protocol``: the hello, the
confirmation, liveness, which reply answers which request); no module here names a route,
message or field of any particular service.

Nothing here is imported by ``harness.pytest_plugin`` eagerly: Hypothesis is an optional
dependency (the ``fuzz`` extra).
"""
