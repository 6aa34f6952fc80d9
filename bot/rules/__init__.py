"""Pure rules of the branch work: no Telegram, no database, no gettext."""
