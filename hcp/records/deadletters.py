"""Messages that failed to parse or validate, kept with why and where they came from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# Header names on a dead-letter message; its value is the original payload, byte for byte.
HEADER_TOPIC = "hcp.original.topic"
HEADER_PARTITION = "hcp.original.partition"
HEADER_OFFSET = "hcp.original.offset"
HEADER_ERROR_CLASS = "hcp.error.class"
HEADER_ERROR_MESSAGE = "hcp.error.message"


class DeadLetter(BaseModel):
    """Topic `deadletters`, key: the original key. The value is the original payload; the reason and the
    origin travel in headers (grain: rejected message). This class is the parsed view of those headers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    original_topic: str
    original_partition: int = Field(ge=0)
    original_offset: int = Field(ge=0)
    error_class: str
    error_message: str

    def headers(self) -> list[tuple[str, bytes]]:
        return [
            (HEADER_TOPIC, self.original_topic.encode()),
            (HEADER_PARTITION, str(self.original_partition).encode()),
            (HEADER_OFFSET, str(self.original_offset).encode()),
            (HEADER_ERROR_CLASS, self.error_class.encode()),
            (HEADER_ERROR_MESSAGE, self.error_message[:2000].encode()),
        ]

    @classmethod
    def from_headers(cls, headers: dict[str, bytes]) -> DeadLetter:
        return cls(
            original_topic=headers[HEADER_TOPIC].decode(),
            original_partition=int(headers[HEADER_PARTITION]),
            original_offset=int(headers[HEADER_OFFSET]),
            error_class=headers[HEADER_ERROR_CLASS].decode(),
            error_message=headers[HEADER_ERROR_MESSAGE].decode(),
        )
