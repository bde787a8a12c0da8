"""densevis app: `streamlit run app.py`. The pages live in the package (densevis/app/)."""

from densevis.app.main import run

run()
