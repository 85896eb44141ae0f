"""Session set-up shared by every test module."""
from torchvision_oracle import register_bare_package

# torchvision 0.28.0 next to the torch CPU wheel cannot run its package __init__ (tests/torchvision_oracle.py says
# why), and ptflops imports torchvision.ops when it is imported: register the bare package before any test does.
register_bare_package()
