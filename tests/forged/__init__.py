"""The forged-button cases of each area, pressed by tests/test_forged_buttons.py."""
