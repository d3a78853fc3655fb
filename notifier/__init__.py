"""Guatu's domain core. Each subpackage holds one concept; none imports bot/, web/, bench/ or a fake.

core (settings, errors, texts, audit) ← numbers ← reporting, importing, sending ← bulletins ← jobs;
cli and demo are entry points and may import everything, bot/ and web/ included, lazily.
"""
