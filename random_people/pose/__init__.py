"""Clip to motion: landmark detection, temporal filtering, body-model fitting, Motion files."""
