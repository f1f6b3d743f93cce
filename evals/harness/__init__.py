"""Library evaluations behind ``nova eval``."""
