"""Entry point a Hugging Face Space (or ``python app.py``) runs: build the app and serve it.

In a Space (``SPACE_ID`` set) it listens on 0.0.0.0:7860; elsewhere on ``RP_SERVER_NAME`` /
``RP_SERVER_PORT`` (default 127.0.0.1:7860), see ``random_people.ui.app.server_address``.
"""

from random_people.ui import launch

if __name__ == "__main__":
    launch()
