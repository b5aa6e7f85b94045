"""Pull-through cache: repositories under configured prefixes mirror an upstream registry."""
