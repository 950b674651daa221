import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "widgets"))  # lab.py: JupyterLab and Chromium
sys.path.insert(0, str(HERE.parent / "kernel"))  # notebooks.py: real notebooks run by nbclient
