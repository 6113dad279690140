"""Heartbeat latency under load: N long-lived connections, anonymous and authenticated mixed,
each sending a heartbeat every --heartbeat-interval seconds; every 10th beat is a protocol
ping instead, so ``WS ping`` (answered by Daphne) can be set against ``WS heartbeat``
(answered by the Django consumer).

    locust -f locustfiles/heartbeat_latency.py --host ws://127.0.0.1:PORT \\
        --headless -u 100 -r 50 -t 60s --heartbeat-interval 1 --csv reports/hb \\
        --max-p99-heartbeat-ms 50 --max-fail-ratio 0.001

--ws-user picks the mix (default: primary, secondary, anonymous, round robin).
"""

from locust import task

from harness.locust import HeartbeatUser


class LongLivedConnection(HeartbeatUser):
    ws_users = ("primary", "secondary", "anonymous")
    heartbeat_interval = 1.0

    @task(9)
    def beat(self) -> None:
        self.heartbeat()

    @task(1)
    def ping(self) -> None:
        self.protocol_ping()
