"""The assistant application: conversation core, flows, channels, store."""
