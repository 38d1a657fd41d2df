"""Latent Explorer: the library behind the Streamlit pages.

Everything here imports and runs without Streamlit (the package ``explorer.ui`` is the one
exception), so the math, models and image handling are tested directly.
"""
