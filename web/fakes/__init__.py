"""Faithful local fakes of the outside services (Twilio, Alibaba Cloud SMS) for tests, the demo and benchmarks."""
