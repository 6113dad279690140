"""Push fan-out: M connected users receive pushes triggered at --push-rate per second;
latency from trigger to receipt at every connection, and the count of lost pushes.

    locust -f locustfiles/push_fanout.py --host ws://127.0.0.1:PORT \\
        --headless -u 101 -r 100 -t 30s --push-rate 2 --csv reports/push --max-lost-pushes 0

One extra user (fixed_count 1) is the trigger, so -u is M + 1. By default every receiver
is the configured user ``primary`` and each push is the contract's first push delivered to
one user (--push-type picks another), sent to that user; ``--push-audience global`` sends
the contract's first push for everyone instead (then mix --ws-user freely).
The receivers send a heartbeat every --heartbeat-interval seconds (default 5) to keep the
connection observed.
"""

from harness.locust import HeartbeatUser, PushTriggerUser


class Receiver(HeartbeatUser):
    ws_users = ("primary",)
    heartbeat_interval = 5.0


class Trigger(PushTriggerUser):
    push_rate = 1.0
    push_audience = "primary"
