"""The evaluation harness behind ``nova eval`` (a checkout of the repository; not the library)."""
