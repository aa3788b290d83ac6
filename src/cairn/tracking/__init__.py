"""The client side of tracking: fluent API, explicit client, batching logger."""
