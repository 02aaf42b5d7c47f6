"""The use cases, on storage only through the ports of :mod:`gamify.services.ports`."""
