"""The Slack channel: the adapter, its Socket Mode inbound, replies and Web API calls."""
