"""Lesson: why a VAE? Short steps, each opening a page in a preset state."""

import streamlit as st

from explorer import lesson
from explorer.ui import setup, state

setup.page_setup("Lesson")
st.title("Why a VAE?")
st.markdown(
    f"{len(lesson.STEPS)} steps, a few minutes each. Every button opens a page in the state the "
    "step describes; its address is a link you can share or bookmark. Come back here with the "
    "sidebar."
)
present = setup.presenting()
for i, step in enumerate(lesson.STEPS):
    with st.container(border=True):
        text, action = st.columns([4, 1], vertical_alignment="center")
        text.markdown(f"**{step.title}**  \n{step.text}")
        if action.button(
            step.button,
            key=f"lesson_{i}",
            icon=":material/open_in_new:",
            use_container_width=True,
            type="primary" if i == 0 else "secondary",
        ):
            params = {**step.params, **({"present": "1"} if present else {})}
            st.switch_page(step.page.script, query_params=params)
        st.caption(f"Link: `{step.url(present)}`")
state.write_url_state([], "lesson")
