"""The parts of the fake Telegram Bot API (`tests.support.fakes.telegram_server`): its records
and rules (`records`), and the Bot API methods with the messages they keep (`bot_api`)."""
