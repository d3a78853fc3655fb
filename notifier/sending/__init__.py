"""Mass SMS (短信群发): campaigns and their deliveries, the send loop and its state machine, audiences,
segments, carrier rules, registered templates, opt-out, quiet hours, the shared rate limit and the
provider adapters (providers/). May import notifier.core and notifier.numbers.
"""
