"""End-to-end tests reuse the integration harness (tests/integration:
Hostd, Env, config_text, guests.py). Its conftest is loaded under another
module name, so pytest never sees two modules called "conftest"."""
import importlib.util
import os
import sys

INTEGRATION = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration")
sys.path.insert(0, INTEGRATION)

_spec = importlib.util.spec_from_file_location("integration_conftest", os.path.join(INTEGRATION, "conftest.py"))
harness = importlib.util.module_from_spec(_spec)
sys.modules["integration_conftest"] = harness
_spec.loader.exec_module(harness)
