"""Helpers the tests share: fixtures loaded as plugins, factories, the spec validator, a streamlit server."""
