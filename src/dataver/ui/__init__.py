"""The local web app of `dataver ui`: versions, browsing any tracked output at any revision,
and comparing two revisions image by image and box by box.

Layers: routes (``versions``, ``browse``, ``compare``, ``media``) validate what a URL names
(``safety``), ask the repository through one worker thread (``service``), build plain view
dicts (``views``, ``compare_view``) and render Jinja2 templates (autoescaped, no logic). Static
assets (``static/``) are the app's own small CSS and JavaScript: no CDN, it works offline.
Needs the ``dataver[ui]`` extra (Starlette, uvicorn, Jinja2, Pillow, numpy).
"""
