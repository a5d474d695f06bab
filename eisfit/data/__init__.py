"""Spectra and the readers that make them from instrument files."""
