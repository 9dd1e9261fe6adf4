"""What is pushed to operators without being asked: alerts and their rules, digests and their
chart, and the channel port the adapters implement. `bot/admin_channels.py` is its router.
"""
