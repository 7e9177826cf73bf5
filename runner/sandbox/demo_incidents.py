"""The demo account's incidents and their notes: a week of a small company's on-call."""

from __future__ import annotations

# (hours before now, title, service, status, urgency), oldest first. Ledger and Old Search have none.
INCIDENTS = (
    (140, "High latency on /v1/charge", "Payments API", "resolved", "high"),
    (132, "Disk usage above 90% on etl-worker-3", "ETL Pipeline", "resolved", "low"),
    (126, "TLS certificate expires in 7 days", "API Gateway", "resolved", "low"),
    (118, "5xx rate above 2%", "Checkout Web", "resolved", "high"),
    (110, "Nightly batch missed its window", "Cron Runner", "resolved", "low"),
    (101, "Replica lag above 30s", "Data Warehouse", "resolved", "high"),
    (95, "Crash loop in auth pods", "Auth Service", "resolved", "high"),
    (88, "Bounce rate spike", "Email Relay", "resolved", "low"),
    (80, "APNs feedback errors", "Push Notifications", "resolved", "low"),
    (72, "Invoice reconciliation mismatch", "Billing Worker", "resolved", "high"),
    (66, "Node NotReady in pool b", "Kubernetes Cluster", "resolved", "high"),
    (60, "Search index stale", "Analytics API", "resolved", "low"),
    (52, "Fraud model timeouts", "Fraud Detection", "acknowledged", "high"),
    (47, "Consumer lag on orders topic", "Event Stream", "acknowledged", "high"),
    (41, "Cart writes failing for EU users", "Cart Service", "acknowledged", "high"),
    (36, "Invoice emails delayed", "Billing Worker", "acknowledged", "low"),
    (30, "Android login errors after release", "Android Backend", "acknowledged", "high"),
    (26, "Status page out of sync", "Status Page Sync", "acknowledged", "low"),
    (22, "Sidecar memory leak", "Service Mesh", "acknowledged", "high"),
    (19, "Dashboard queries slow", "Analytics API", "acknowledged", "low"),
    (16, "Checkout p99 above 2s", "Checkout Web", "triggered", "high"),
    (14, "Price feed stale", "Pricing Engine", "triggered", "high"),
    (12, "Monolith OOM kills", "Legacy Monolith", "triggered", "high"),
    (10, "Token refresh errors", "Auth Service", "triggered", "high"),
    (8, "502s from the CDN", "Mobile BFF", "triggered", "high"),
    (6, "Payment webhook retries piling up", "Payments API", "triggered", "high"),
    (5, "Push token upload failing", "iOS Backend", "triggered", "low"),
    (3, "TLS handshake errors", "Marketing Site", "triggered", "low"),
    (2, "ETL job failed: orders_daily", "ETL Pipeline", "triggered", "high"),
    (1, "429 surge at the edge", "API Gateway", "triggered", "high"),
)

# (incident number, author, minutes after the incident opened, content)
NOTES = (
    (1, "Ben Carter", 10, "Rolled back the 14:00 deploy; latency recovering."),
    (1, "Maria Garcia", 50, "Root cause: connection pool exhausted. Follow-up filed."),
    (10, "Lucas Martin", 20, "Mismatch traced to a duplicated refund event."),
    (13, "Aisha Bello", 15, "Model servers scaled from 4 to 8 replicas."),
    (15, "Sam Rivera", 5, "EU database failover in progress."),
    (15, "Taylor Kim", 25, "Writes recovering; watching the error rate."),
    (17, "Liam Walsh", 30, "Release 4.12.1 halted at 20% rollout."),
    (23, "Alex Morgan", 45, "Restarted the two worst nodes; heap dump captured."),
)
