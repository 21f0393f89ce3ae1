"""A series of images recalibrated one after another from the previous geometry, and the drift table
(time, distance, centre, tilts, RMS, verdict per image) it produces; a watched folder feeds it."""
