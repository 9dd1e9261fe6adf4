"""The parts of the campaign pipeline behind `engine/campaigns.py`: the per-number worker, the
service operators use, pacing, templates and prospect imports.
"""
