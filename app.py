"""densevis app: `streamlit run app.py`. The pages live in the package (densevis/app/)."""

from densevis.app.main import run

if __name__ == "__main__":  # Streamlit runs it as __main__; a worker process may import it
    run()
