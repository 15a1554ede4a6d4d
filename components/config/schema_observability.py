"""The dashboard, the alarms and who they notify (docs/observability.md), both modes."""

from __future__ import annotations

from components.config.keys import Key, Section

# CloudWatch alarm actions publish to standard SNS topics; a FIFO topic (.fifo) is refused.
SNS_TOPIC_ARN_PATTERN = r"arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}"
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"
# CloudWatch evaluates at most one day of one-minute periods.
MAX_ALARM_MINUTES = 1440

OBSERVABILITY = Section(
    "observability",
    "The runners' metrics, a CloudWatch dashboard (stack output dashboardUrl) and alarms.",
    (
        Key(
            "enabled",
            "boolean",
            True,
            "Scrape gitlab-runner's metrics into CloudWatch and create the dashboard and alarms.",
        ),
    ),
)

ALERTS = Section(
    "alerts",
    "Alarm notifications (opt-in) and the thresholds teams tune (docs/observability.md).",
    (
        Key(
            "email",
            "string",
            None,
            "Create an SNS topic with this email subscription; every alarm notifies it (the "
            "address must confirm the subscription AWS mails it).",
            pattern=EMAIL_PATTERN,
            hint="use one address such as platform-team@example.com",
        ),
        Key(
            "snsTopicArn",
            "string",
            None,
            "Existing standard SNS topic every alarm notifies (instead of alerts.email).",
            pattern=SNS_TOPIC_ARN_PATTERN,
            hint="use a standard topic's ARN, arn:aws:sns:<region>:<account>:<name> (FIFO "
            "topics cannot receive CloudWatch alarms)",
        ),
        Key(
            "fargateQuotaPercent",
            "integer",
            80,
            "Alarm when the Fargate vCPU in use passes this share of the account's quota.",
            minimum=1,
            maximum=100,
        ),
        Key(
            "saturatedMinutes",
            "integer",
            15,
            "Alarm when a runner runs at its concurrency for this many minutes.",
            minimum=1,
            maximum=MAX_ALARM_MINUTES,
        ),
        Key(
            "notPollingMinutes",
            "integer",
            5,
            "Alarm when a runner has not asked GitLab for jobs for this many minutes.",
            minimum=2,
            maximum=MAX_ALARM_MINUTES,
        ),
        Key(
            "jobStartFailures",
            "integer",
            3,
            "Alarm when more jobs than this fail to start (or fail on the runner's side) "
            "within 15 minutes.",
            minimum=0,
            maximum=10000,
        ),
    ),
)
