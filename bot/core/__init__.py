"""The channel-independent conversation core: it understands a message,
decides what to say and keeps the conversation's state in Redis."""
