"""Connection throughput: connect, wait for the confirmation, close, repeat.

    locust -f locustfiles/connection_throughput.py --host ws://127.0.0.1:PORT \\
        --headless -u 20 -r 20 -t 30s --csv reports/connect --min-connect-rate 100

Reads: ``WS connect`` (TCP + handshake) and ``WS confirm`` latency, and connections/s
(printed at the end as connect_rate_per_s; gate it with --min-connect-rate).
"""

from locust import task

from harness.locust import WebSocketUser


class ConnectCycle(WebSocketUser):
    ws_users = ("anonymous",)

    def on_start(self) -> None:
        super().on_start()
        self.disconnect()  # on_start opened one; the task measures full cycles

    @task
    def cycle(self) -> None:
        if self.connect():
            self.disconnect()
