"""The Telegram channel: the adapter, its updates, replies, buttons and rate limits."""
