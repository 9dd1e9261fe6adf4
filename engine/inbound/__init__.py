"""The parts of the inbound pipeline behind `engine/listener.py`: the spool, the steps each message
goes through, per-chat lanes, AI turns, outbound sends, receipts and conversation actions.
"""
