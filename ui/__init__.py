"""UI glue beside the pages: the cached runtime, the sign-in gate, banners, presentation mode, renderers.

Nothing here is imported by ``engagement/`` (which never imports streamlit).
"""
