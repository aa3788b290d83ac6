"""The model registry from the client side: :class:`RegistryClient` (``MlflowClient``'s
registry methods), ``cairn.register_model`` and the ``models:/`` URIs of registered versions.

Nothing heavy is imported here; ``cairn.RegistryClient`` and ``cairn.register_model`` load
their modules on first use.
"""
