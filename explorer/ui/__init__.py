"""The Streamlit side of the app: the one part of explorer/ that imports Streamlit.

A page finds what it shows in one hop:

- :mod:`~explorer.ui.setup`: page setup, the sidebar, presentation mode, server singletons;
- :mod:`~explorer.ui.state`: URL state, pickers whose choice survives page switches, and
  :func:`~explorer.ui.state.open_interpolation`;
- :mod:`~explorer.ui.cache`: cached loaders (checkpoints, held-out digits and codes, maps);
- :mod:`~explorer.ui.display`: digits, strips, formulas and plain-text notices;
- :mod:`~explorer.ui.controls`: the live control and decoding in the browser;
- :mod:`~explorer.ui.browser_views`: the drawing canvas and the atlas probe;
- :mod:`~explorer.ui.uploads`: the uploader and the bounded upload store;
- :mod:`~explorer.ui.training`: live training runs started from the KL and ELBO page;
- :mod:`~explorer.ui.idle`: a quiet idle server;
- one module per page whose screen needs more than the page itself
  (:mod:`~explorer.ui.ae_vs_vae`, :mod:`~explorer.ui.sliders`, :mod:`~explorer.ui.interpolation`).
"""
