"""The parts of the fake Slack (`tests.support.fakes.slack_server`): its records and limits
(`records`), what Slack refuses in a message (`blocks`) and the workspace with the Web API
methods that change it (`workspace`)."""
