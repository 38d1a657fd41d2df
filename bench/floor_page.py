"""Streamlit's floor for a first view (run by bench.views, never by users): a page with a title,
a line of text and one 28 x 28 image, no model and no import beyond Streamlit and Pillow; with
``?chart=1``, one three-point Plotly chart too (the browser loads Plotly's code for it). The
seconds these take to be drawn are what no page of the app, with or without a chart, can go
under on the same machine."""

import io

import streamlit as st
from PIL import Image

st.title("Floor")
st.markdown("A title, a line of text and an image: Streamlit's own first view.")
buffer = io.BytesIO()
Image.new("L", (28, 28), 128).save(buffer, format="PNG")
st.image(buffer.getvalue(), caption="one image", width=112)
if st.query_params.get("chart") == "1":
    import plotly.graph_objects as go

    st.plotly_chart(go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 3, 2])))
