"""Reminders: pure planning rules and quiet hours, rendering, and the engine that sends them."""
