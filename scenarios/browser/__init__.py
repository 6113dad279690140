"""The browser suite, shipped with the plugin so it runs against any server.

Selected with ``-m browser`` (or by pointing at this folder): ``ws-harness run -m browser``
or ``pytest --pyargs harness_scenarios --ws-config my.yaml -m browser``. It needs Debian's
``chromium`` package (``--ws-chromium PATH`` for another binary).
"""
