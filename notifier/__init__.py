"""Guatu's domain core. Each subpackage holds one concept; none imports bot/, wecom/, web/, bench/ or a
fake.

core (settings, errors, texts, audit) ← numbers ← reporting, importing, sending ← bulletins ← jobs;
channels (WeCom binding, channel order) stands on core alone. cli and demo are entry points and may
import everything, bot/, wecom/ and web/ included, lazily.
"""
