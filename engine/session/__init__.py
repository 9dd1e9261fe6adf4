"""The parts of session supervision behind `engine/sessions.py`: one runner per number, its lives,
pairing, policy, QR images and profile backups.
"""
