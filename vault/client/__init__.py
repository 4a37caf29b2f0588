"""The Python client: the high-assurance path. It derives keys from the
password, encrypts, signs and verifies locally; the server only relays."""
