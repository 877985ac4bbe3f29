"""Settings of the trajectory-page benchmark (in-process and under gunicorn): the test settings plus the floor
handler's URL (``trajectory_page_urls``). ``bench/support/`` must be on ``sys.path``."""

from ketaclinic.settings_test import *  # noqa: F403

ROOT_URLCONF = "trajectory_page_urls"
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver", "127.0.0.1", "localhost"]  # noqa: F405 - the test client, gunicorn
