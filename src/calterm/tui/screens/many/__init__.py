"""Screens for several images at once (issue 16): joint calibration and a series watched for drift."""
