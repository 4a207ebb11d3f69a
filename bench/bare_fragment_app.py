"""The cheapest possible polling page: the baseline the polling benchmark compares the app with."""

import time

import streamlit as st

st.title("Bare fragment")


@st.fragment(run_every="2s")
def poll() -> None:
    st.write(time.time())


poll()
