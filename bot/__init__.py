"""The subscriber bot (python-telegram-bot): commands, subscriptions, and delivery of the alert outbox.

Entry points: `bot.app.build_application` / `bot.app.serve` (for `communique run`) and `bot.app.run_bot`
(for `communique bot`).
"""
