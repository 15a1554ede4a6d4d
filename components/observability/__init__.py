"""See the fleet: gitlab-runner's Prometheus metrics in CloudWatch, one dashboard per stack and
the alarms a platform team needs (docs/observability.md).

`catalogue` says which metrics exist and how they reach CloudWatch, `scrape` renders the ECS
CloudWatch agent's and the EKS collector's configurations from it, `dashboard` and `alarms`
are pure functions of a `FleetView`, and `monitoring` creates the resources."""
