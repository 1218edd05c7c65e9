"""FakeHighLevel: a stateful, strict fake of the HighLevel Contacts API for tests."""
