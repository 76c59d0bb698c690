"""Notification channels, routing, dedup, rate limits, retries and escalation (`HCP_NOTIFY_*`)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

CHANNELS = ("webhook", "email", "chat")


class NotifySettings(BaseSettings):
    """Where alerts are delivered and how. Lists and mappings are JSON in the environment."""

    model_config = SettingsConfigDict(env_prefix="HCP_NOTIFY_", extra="ignore")

    webhook_url: str | None = Field(None, description="URL that receives HMAC-signed JSON alerts")
    webhook_secret: SecretStr | None = Field(None, description="HMAC-SHA256 key of the webhook signature")
    chat_webhook_url: str | None = Field(None, description="Slack-compatible incoming webhook URL")
    smtp_host: str | None = Field(None, description="SMTP server for e-mail alerts")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP port")
    smtp_from: str = Field("hcp@localhost", description="sender address")
    smtp_to: tuple[str, ...] = Field((), description='recipients, JSON list: ["ops@example.com"]')
    smtp_starttls: bool = Field(False, description="upgrade the SMTP connection with STARTTLS")
    smtp_username: str | None = Field(None, description="SMTP user, if the server needs a login")
    smtp_password: SecretStr | None = Field(None, description="SMTP password")
    routes: dict[str, tuple[str, ...]] = Field(
        {"critical": CHANNELS, "warning": ("webhook", "chat"), "info": ("webhook",)},
        description='channels per severity, JSON: {"critical": ["webhook", "email", "chat"], ...}',
    )
    site_routes: dict[str, dict[str, tuple[str, ...]]] = Field(
        {}, description='per-site overrides of routes, JSON: {"west-1": {"warning": ["email"]}}'
    )
    dedup_window_s: float = Field(
        300.0, ge=0, le=86400, description="a key that fires again within this many wall seconds is not re-sent"
    )
    rate_limit_per_minute: int = Field(30, ge=1, le=100_000, description="deliveries per channel per minute")
    escalate_after_s: float = Field(
        900.0, gt=0, le=7 * 86400, description="wall seconds a firing alert may stay unacknowledged"
    )
    escalation_channels: tuple[str, ...] = Field(("email",), description="channels an escalation goes to")
    backoff_base_s: float = Field(1.0, gt=0, le=3600, description="first retry delay; doubles per failure")
    backoff_max_s: float = Field(300.0, gt=0, le=86400, description="longest retry delay (retries never stop)")
    timeout_s: float = Field(10.0, gt=0, le=300, description="timeout of one delivery attempt")
    group_id: str = Field("hcp-notifier", min_length=1, description="consumer group of the notifier")
    poll_interval_s: float = Field(0.5, gt=0, le=60, description="longest wait for new alerts between deliveries")

    @field_validator("webhook_url", "chat_webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value or None

    @model_validator(mode="after")
    def _consistent(self) -> NotifySettings:
        named = {c for chans in self.routes.values() for c in chans} | set(self.escalation_channels)
        named |= {c for site in self.site_routes.values() for chans in site.values() for c in chans}
        unknown = named - set(CHANNELS)
        if unknown:
            raise ValueError(f"unknown channel(s) {sorted(unknown)}; known: {', '.join(CHANNELS)}")
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("HCP_NOTIFY_WEBHOOK_URL needs HCP_NOTIFY_WEBHOOK_SECRET (the HMAC key)")
        if self.smtp_host and not self.smtp_to:
            raise ValueError('HCP_NOTIFY_SMTP_HOST needs HCP_NOTIFY_SMTP_TO, e.g. ["ops@example.com"]')
        return self

    def configured(self) -> set[str]:
        """Channels that have somewhere to deliver to."""
        return {
            name
            for name, on in (("webhook", self.webhook_url), ("chat", self.chat_webhook_url), ("email", self.smtp_host))
            if on
        }

    def channels_for(self, severity: str, site_id: str | None) -> tuple[str, ...]:
        """Configured channels for an alert of `severity` at `site_id` (site override first)."""
        routes = self.site_routes.get(site_id or "", {})
        chosen = routes.get(severity, self.routes.get(severity, ()))
        return tuple(c for c in chosen if c in self.configured())
