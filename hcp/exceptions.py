"""The single exception family of the core package."""


class HcpError(Exception):
    """Base of every error the platform raises on purpose."""


class ConfigError(HcpError):
    """A setting, flag or configuration file is invalid; the message says what to change."""


class BrokerError(HcpError):
    """The Kafka-protocol broker could not be started, reached or administered."""


class RecordError(HcpError):
    """A message failed to parse or validate against its topic's record class."""

    def __init__(self, topic: str, message: str) -> None:
        super().__init__(f"{topic}: {message}")
        self.topic = topic
        self.reason = message


class ProducerError(HcpError):
    """Messages could not be delivered to the broker."""
